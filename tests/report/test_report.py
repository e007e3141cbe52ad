"""``smguard report``: the JSON document, and the page a person looks at, checked in a real browser.

The browser test renders the page in headless Chromium (Debian's ``chromium``; ``.ci/run``
installs it) through Playwright, and checks that it loads with no console message and no
network request, that every number the page shows equals the document, that each chart has
one mark per datum, and writes a screenshot (``build/report.png`` when run from the repo).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from smguard.cli import main
from smguard.report import build_report, render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_document_counts_come_from_the_pack_and_the_evaluation(pack, evaluation):
    doc = build_report(pack, evaluation=evaluation)
    assert doc["schema"] == "smguard-report/1"
    assert doc["summary"]["detections"] == len(pack.detections)
    assert [a["area"] for a in doc["areas"]] == ["iam", "network", "data", "monitoring", "deployment", "cost"]
    assert doc["summary"]["alerts"] == 4 and doc["summary"]["suppressed"] == 1
    assert doc["summary"]["expected"] == 2 and doc["summary"]["caught"] == 1 and doc["summary"]["missed"] == 1
    assert doc["summary"]["false_positives"] == {"baseline": 1, "benign": 0, "cross_fire": 1, "near_miss": 1}
    assert doc["volume"]["days"] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    first = doc["volume"]["series"][0]
    assert first["alerts"] == [1, 1, 0] and first["suppressed"] == [1, 0, 0]
    assert len(doc["timeline"]["instances"]) == 3 and len(doc["timeline"]["alerts"]) == 5
    missed = next(d for d in doc["detections"] if d["evaluation"] and d["evaluation"]["missed"])
    assert missed["evaluation"]["missed"] == [{"instance": "seed 1: s2#1 at 2026-11-24T12:00:00Z",
                                               "reason": "below_threshold", "detail": "x"}]


def test_without_inputs_the_page_says_what_is_missing(pack):
    page = render(build_report(pack))
    assert "no evaluation given" in page and "no test results given" in page


def test_cli_writes_json_and_html_and_refuses_bad_input(pack, evaluation, tmp_path, capsys):
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps(evaluation))
    assert main(["--pack", str(pack.root), "report", "--evaluation", str(ev), "--format", "json",
                 "--out", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["alerts"] == 4
    assert main(["--pack", str(pack.root), "report", "--evaluation", str(ev), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["--pack", str(pack.root), "report", "--evaluation", str(bad)]) == 1
    assert f"{bad}:1: not the JSON" in capsys.readouterr().err


def test_page_is_self_contained(pack, evaluation):
    import re

    page = render(build_report(pack, evaluation=evaluation))
    # Text may quote a URL (a detection about plain-HTTP integrations does); nothing may load one.
    assert re.findall(r'(?:src|href)\s*=\s*"(?!#)[^"]*"', page) == []
    for external in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert external not in page, external


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (.ci/run installs Debian's chromium)")
def test_page_in_headless_chromium(pack, evaluation, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    doc = build_report(pack, evaluation=evaluation)
    page_file = tmp_path / "report.html"
    page_file.write_text(render(doc))
    console, requests = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: console.append(m.text))
            page.on("pageerror", lambda e: console.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            shown = page.eval_on_selector_all("[data-key]", "els => els.map(e => [e.dataset.key, e.textContent])")
            for key, text in shown:
                value = doc
                for part in key.split("."):
                    value = value[part]
                assert text == ("—" if value is None else str(value)), key
            assert len(shown) >= 12
            n_bars = sum(1 for s in doc["volume"]["series"] for v in s["alerts"] if v)
            n_sup = sum(1 for s in doc["volume"]["series"] for v in s["suppressed"] if v)
            assert page.locator("rect.vol-bar").count() == n_bars
            assert page.locator("rect.vol-suppressed").count() == n_sup
            assert page.locator("circle.tl-instance").count() == len(doc["timeline"]["instances"])
            assert page.locator("rect.tl-alert").count() == len(doc["timeline"]["alerts"])
            assert page.locator("rect.attack-cell").count() == len(doc["attack"])
            assert page.locator("a.gr-cell").count() == doc["summary"]["guardrails"]
            shot = Path(os.environ.get("SMGUARD_REPORT_SCREENSHOT", tmp_path / "report.png"))
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert console == []
    assert [u for u in requests if not u.startswith("file://")] == []
