"""Regenerate the README's report screenshot: ``python -m tests.report.screenshot``.

Runs the detections' tests and a small out-of-sample evaluation (2 seeds of one day, every
scenario twice), builds the report and photographs it in headless Chromium (docs/report.png).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    smguard = [sys.executable, "-m", "smguard", "--pack", str(ROOT)]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        tests = subprocess.run([*smguard, "test", "--format", "json", "--quiet"], capture_output=True, text=True)
        (t / "tests.json").write_text(tests.stdout)
        json.loads(tests.stdout)
        subprocess.run([*smguard, "evaluate", "--seeds", "2", "--per-scenario", "2", "--quiet", "--exit-zero",
                        "--json", str(t / "evaluation.json")], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*smguard, "report", "--tests", str(t / "tests.json"), "--evaluation",
                        str(t / "evaluation.json"), "--out", str(t / "report.html")], check=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto((t / "report.html").as_uri())
            page.screenshot(path=str(ROOT / "docs" / "report.png"))
            browser.close()
    print(ROOT / "docs" / "report.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
