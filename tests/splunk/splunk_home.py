"""A directory laid out like ``$SPLUNK_HOME`` for upgrade tests: install an app package the way Splunk does.

Installing over an existing app replaces what the package ships and keeps what the site
made: ``local/`` and ``metadata/local.meta`` stay, every other file of the old version goes
(Splunk's "Protect content during app updates": without protection "all locally-generated
content will be deleted or overwritten",
https://docs.splunk.com/Documentation/Splunk/latest/Updating/Excludecontent; ``local/`` is
where Splunk Web saves the SOC's edits and what an upgrade keeps,
https://help.splunk.com/en/splunk-enterprise/administer/admin-manual/10.4/administer-splunk-enterprise-with-configuration-files/about-the-default-files).
The KV store is not in the app directory at all: it lives in ``kvstore/`` here (one JSON file
per collection standing in for its records), which installing never touches.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

KEPT = ("local", "metadata/local.meta")


class SplunkHome:
    def __init__(self, root: Path):
        self.root = root
        self.apps = root / "etc" / "apps"
        self.kvstore = root / "var" / "lib" / "splunk" / "kvstore"
        self.apps.mkdir(parents=True, exist_ok=True)

    def install(self, tgz: Path) -> Path:
        """Install or upgrade the app in ``tgz``; return its directory."""
        with tarfile.open(tgz) as tar:
            top = {m.name.split("/", 1)[0] for m in tar.getmembers()}
            assert len(top) == 1, top
            app_dir = self.apps / top.pop()
            if app_dir.exists():
                for child in app_dir.iterdir():
                    if child.name == "local":
                        continue
                    if child.name == "metadata":
                        for meta in child.iterdir():
                            if meta.name != "local.meta":
                                meta.unlink()
                        continue
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            tar.extractall(self.apps, filter="data")
        return app_dir

    def write_local(self, app: str, conf: str, text: str) -> Path:
        path = self.apps / app / "local" / f"{conf}.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(text)
        return path

    def kv_add(self, app: str, collection: str, record: dict[str, Any]) -> None:
        path = self.kvstore / app / f"{collection}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = json.loads(path.read_text()) if path.exists() else []
        rows.append({"_key": f"k{len(rows)}", **record})
        path.write_text(json.dumps(rows))

    def kv_rows(self, app: str) -> dict[str, list[dict[str, Any]]]:
        folder = self.kvstore / app
        return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.exists() else {}
