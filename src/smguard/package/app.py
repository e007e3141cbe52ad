"""Lay out the Splunk app directory and pack it as a reproducible ``APPID-VERSION.tgz``.

Reproducible means: the same pack gives the same bytes. Files are written in sorted
order, tar members carry fixed owners, modes and mtimes, and gzip's header holds no
timestamp or file name.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

from smguard.compile.confs import (
    ANALYTICSTORIES_SPEC,
    analyticstories_conf,
    collections_conf,
    macros_conf,
    savedsearches_conf,
    transforms_conf,
)
from smguard.model import Pack
from smguard.package.docs import admin_readme
from smguard.package.extras import extra_files
from smguard.testing.coverage import markdown

FIXED_MTIME = 1_700_000_000  # 2023-11-14: any fixed value works; 0 upsets some tar readers


def app_conf(pack: Pack) -> str:
    s = pack.settings
    build = "".join(f"{int(p):03d}" for p in s.version.split("."))
    return f"""[install]
is_configured = false
build = {int(build)}

[launcher]
author = {s.author}
description = {s.description}
version = {s.version}

[ui]
is_visible = true
label = {s.label}

[package]
id = {s.app_id}
check_for_updates = false

[id]
name = {s.app_id}
version = {s.version}

[triggers]
reload.analyticstories = simple
reload.es_investigations = simple
"""


DEFAULT_META = """# Everyone may read; only admins may change. sc_admin is Splunk Cloud's admin role:
# without it, Splunk Cloud customers could not tune the filter macros and lookups.
[]
access = read : [ * ], write : [ admin, sc_admin ]
export = system

[savedsearches]
access = read : [ * ], write : [ admin, sc_admin ]
export = system

[macros]
access = read : [ * ], write : [ admin, sc_admin ]
export = system

[lookups]
access = read : [ * ], write : [ admin, sc_admin ]
export = system

[transforms]
access = read : [ * ], write : [ admin, sc_admin ]
export = system

[collections]
access = read : [ * ], write : [ admin, sc_admin ]
export = system
"""


def app_files(pack: Pack) -> dict[str, bytes]:
    """Every file of the app, by path relative to the app directory."""
    files: dict[str, str | bytes] = {
        "default/app.conf": app_conf(pack),
        "default/savedsearches.conf": savedsearches_conf(pack),
        "default/macros.conf": macros_conf(pack),
        "default/transforms.conf": transforms_conf(pack),
        "default/collections.conf": collections_conf(pack),
        "default/analyticstories.conf": analyticstories_conf(pack),
        "README/analyticstories.conf.spec": ANALYTICSTORIES_SPEC,
        # Custom confs must replicate across a search head cluster, or members disagree.
        "default/server.conf": "[shclustering]\nconf_replication_include.analyticstories = true\n",
        "metadata/default.meta": DEFAULT_META,
        "README.md": admin_readme(pack, coverage=markdown(pack) if (pack.root / "guardrails.yml").exists() else None),
    }
    for lk in sorted(pack.lookups.values(), key=lambda x: x.filename):
        files[f"lookups/{lk.filename}"] = lk.csv_text
    files.update(extra_files(pack))
    return {k: (v.encode("utf-8") if isinstance(v, str) else v) for k, v in sorted(files.items())}


def build_app(pack: Pack, out: Path) -> tuple[Path, Path]:
    """Write ``out/<app_id>/`` and ``out/<app_id>-<version>.tgz``; return both paths."""
    s = pack.settings
    files = app_files(pack)
    app_dir = out / s.app_id
    if app_dir.exists():
        shutil.rmtree(app_dir)
    for rel_path, data in files.items():
        target = app_dir / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    tgz = out / f"{s.app_id}-{s.version}.tgz"
    tgz.write_bytes(_tgz(s.app_id, files))
    return app_dir, tgz


def _tgz(top: str, files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        dirs = sorted({top} | {f"{top}/{p}" for path in files for p in _parents(path)})
        for d in dirs:
            tar.addfile(_info(d, tarfile.DIRTYPE, 0o755, 0))
        for path, data in files.items():
            tar.addfile(_info(f"{top}/{path}", tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
