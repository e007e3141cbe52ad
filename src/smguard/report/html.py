"""The report document rendered as one self-contained HTML page (inline CSS and SVG, no script).

Why no script and nothing external: the page must open from a CI artifact or an e-mail
attachment with no network, and show the same thing everywhere. Charts are SVG drawn here;
every number a test checks carries ``data-key`` (its path in the JSON document) and every
chart mark a class (``vol-bar``, ``vol-suppressed``, ``tl-instance``, ``tl-alert``,
``attack-cell``, ``gr-cell``), so the browser test can compare the page with the document.
"""

from __future__ import annotations

from html import escape
from typing import Any

from smguard.report.data import week_ticks

STATUS_COLOUR = {"covered": "#2e7d32", "partial": "#f9a825", "not observable": "#9e9e9e", "gap": "#c62828"}
KIND_COLOUR = {"attack": "#37474f", "near_miss": "#4db6ac", "benign": "#90caf9"}  # apart from alert colours
CLASS_COLOUR = {"tp": "#2e7d32", "declared": "#558b2f", "suppressed": "#90a4ae", "baseline": "#c62828",
                "near_miss": "#ef6c00", "benign": "#f9a825", "cross_fire": "#6a1b9a"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#0d2b45;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:22px}
main{padding:0 28px 40px;max-width:1400px}section{margin:26px 0}h2{font-size:18px;border-bottom:2px solid #0d2b45}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin-top:12px}.kpi{background:#fff;border:1px solid #ddd;border-radius:6px;
padding:8px 14px;min-width:110px}.kpi b{display:block;font-size:22px}.kpi span{color:#555;font-size:12px}
.matrix{display:grid;grid-template-columns:repeat(6,1fr);gap:8px}.area h3{font-size:14px;margin:0 0 6px;text-transform:uppercase}
a.gr-cell{display:block;color:#fff;text-decoration:none;border-radius:4px;padding:5px 7px;margin-bottom:5px;font-size:12px}
.legend span{display:inline-block;margin-right:14px;font-size:12px}.legend i{display:inline-block;width:12px;height:12px;
margin-right:4px;vertical-align:middle;border-radius:2px}
table{border-collapse:collapse;background:#fff;font-size:12.5px;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#eef2f6}.pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}
.muted{color:#777}.det{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:12px 0}
.det h3{margin:0 0 6px;font-size:15px}svg text{font:11px system-ui,sans-serif}.tag{display:inline-block;background:#eef2f6;
border-radius:3px;padding:0 5px;margin:0 3px 2px 0;font-size:11.5px}
"""


def _esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(key: str, value: Any) -> str:
    shown = "—" if value is None else value
    return f'<b data-key="{_esc(key)}">{_esc(shown)}</b>'


def _summary(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    items = [("detections", "detections"), ("guardrails", "guardrails"), ("covered", "covered"),
             ("partial", "partial"), ("not_observable", "not observable"), ("gaps", "gaps"),
             ("test_cases", "test cases"), ("tests_passed", "tests passed"), ("tests_failed", "tests failed")]
    if "expected" in s:
        items += [("expected", "attack instances"), ("caught", "caught"), ("behind_open_alert", "behind an open alert"),
                  ("missed", "missed")]
    items += [("alerts", "alerts raised"), ("suppressed", "suppressed by throttling"), ("techniques", "ATT&CK techniques")]
    kpis = "".join(f'<div class="kpi">{_num("summary." + k, s.get(k))}<span>{_esc(label)}</span></div>'
                   for k, label in items)
    fps = s.get("false_positives")
    fp_line = ""
    if fps is not None:
        fp_line = "<p>False positives by class: " + ", ".join(
            f'{_esc(k.replace("_", " "))} {_num("summary.false_positives." + k, v)}' for k, v in fps.items()) + "</p>"
    return f'<div class="kpis">{kpis}</div>{fp_line}'


def _matrix(doc: dict[str, Any], names: dict[str, str]) -> str:
    cols = []
    details = []
    for area in doc["areas"]:
        cells = []
        for g in area["guardrails"]:
            colour = STATUS_COLOUR.get(g["status"], "#555")
            cells.append(f'<a class="gr-cell" data-status="{_esc(g["status"])}" href="#gr-{_esc(g["id"])}" '
                         f'style="background:{colour}" title="{_esc(g["status"])}">{_esc(g["title"])}</a>')
            dets = ", ".join(f'<a href="#det-{_esc(d)}">{_esc(names.get(d, d))}</a>' for d in g["detections"])
            why = f' — <span class="muted">{_esc(g["reason"])}</span>' if g["reason"] else ""
            tests = f' ({g["tests"]["fire"]} fire / {g["tests"]["silent"]} silent test cases)' if g["detections"] else ""
            details.append(f'<li id="gr-{_esc(g["id"])}"><code>{_esc(g["id"])}</code> {_esc(g["title"])}: '
                           f'<b>{_esc(g["status"])}</b>{tests}{": " + dets if dets else ""}{why}</li>')
        cols.append(f'<div class="area"><h3>{_esc(area["area"])}</h3>{"".join(cells)}</div>')
    legend = "".join(f'<span><i style="background:{c}"></i>{_esc(s)}</span>' for s, c in STATUS_COLOUR.items())
    return (f'<div class="legend">{legend}</div><div class="matrix">{"".join(cols)}</div>'
            f'<details><summary>Every guardrail, its detections and reasons</summary><ul>{"".join(details)}</ul></details>')


def _volume(doc: dict[str, Any]) -> str:
    vol = doc["volume"]
    if not vol["series"]:
        return '<p class="muted">No alerts in this evaluation (or no evaluation given).</p>'
    days, series = vol["days"], vol["series"]
    top = max(max(a + s for a, s in zip(x["alerts"], x["suppressed"], strict=True)) for x in series) or 1
    label_w, cell_w, row_h = 330, 58, 22
    width = label_w + cell_w * len(days) + 60
    height = 30 + row_h * len(series)
    marks = []
    for j, d in enumerate(days):
        shown = d[5:] if len(d) == 10 and d[4] == "-" else d  # a bare date: month-day is enough
        marks.append(f'<text x="{label_w + j * cell_w + 2}" y="14">{_esc(shown)}</text>')
    for i, row in enumerate(series):
        y0 = 24 + i * row_h
        marks.append(f'<text x="4" y="{y0 + 14}">{_esc(row["detection"][:52])}</text>')
        for j, (n, sup) in enumerate(zip(row["alerts"], row["suppressed"], strict=True)):
            x = label_w + j * cell_w + 4
            base = y0 + row_h - 4
            h_n = (row_h - 6) * n / top
            h_s = (row_h - 6) * sup / top
            if n:
                marks.append(f'<rect class="vol-bar" x="{x}" y="{base - h_n:.1f}" width="{cell_w - 10}" '
                             f'height="{h_n:.1f}" fill="#1565c0"><title>{_esc(row["detection"])} {_esc(days[j])}: '
                             f'{n} alert(s)</title></rect>')
            if sup:
                marks.append(f'<rect class="vol-suppressed" x="{x}" y="{base - h_n - h_s:.1f}" width="{cell_w - 10}" '
                             f'height="{h_s:.1f}" fill="none" stroke="#1565c0" stroke-dasharray="2 2">'
                             f'<title>{_esc(row["detection"])} {_esc(days[j])}: {sup} suppressed by throttling</title></rect>')
        total = sum(row["alerts"])
        marks.append(f'<text x="{label_w + cell_w * len(days) + 6}" y="{y0 + 14}">{total}</text>')
    return (f'<svg class="chart" id="volume-chart" width="{width}" height="{height}" role="img" '
            f'aria-label="alerts per day per detection">{"".join(marks)}</svg>'
            '<p class="muted">Solid: alerts raised; dashed: alerts throttling suppressed (same entity within the '
            'throttle period). The last column is the total raised.</p>')


def _timeline(doc: dict[str, Any]) -> str:
    tl = doc["timeline"]
    if tl["start"] is None:
        return '<p class="muted">No evaluation given.</p>'
    start, end = tl["start"], tl["end"]
    left, width, lane = 90, 1100, 34
    def x(t: float) -> float:
        return left + width * (t - start) / (end - start)
    marks = ['<text x="4" y="40">scenarios</text>', '<text x="4" y="74">alerts</text>']
    for t, label in week_ticks(start):
        if t > end:
            break
        marks.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="18" y2="92" stroke="#ddd"/>'
                     f'<text x="{x(t) + 3:.1f}" y="104">{_esc(label)}</text>')
    for inst in tl["instances"]:
        colour = KIND_COLOUR.get(inst["kind"] or "", "#555")
        marks.append(f'<circle class="tl-instance" cx="{x(inst["time"]):.1f}" cy="{36}" r="4" fill="{colour}">'
                     f'<title>{_esc(inst["scenario"])} ({_esc(inst["kind"])}), instance {_esc(inst["instance"])}'
                     f'</title></circle>')
    for a in tl["alerts"]:
        colour = CLASS_COLOUR.get(a["class"], "#555")
        style = 'fill="none" stroke="' + colour + '"' if a["suppressed"] else f'fill="{colour}"'
        marks.append(f'<rect class="tl-alert" x="{x(a["time"]) - 3:.1f}" y="{lane + 32}" width="6" height="10" '
                     f'{style}><title>{_esc(a["detection"])}: {_esc(a["class"])}'
                     f'{" (suppressed)" if a["suppressed"] else ""}</title></rect>')
    legend = "".join(f'<span><i style="background:{c}"></i>{_esc(k.replace("_", " "))}</span>'
                     for k, c in {**{"scenario " + k: v for k, v in KIND_COLOUR.items()},
                                  **{"alert " + k: v for k, v in CLASS_COLOUR.items()}}.items())
    return (f'<svg class="chart" id="timeline-chart" width="{left + width + 20}" height="112" role="img" '
            f'aria-label="timeline of one evaluation week">{"".join(marks)}</svg><div class="legend">{legend}</div>')


def _attack(doc: dict[str, Any]) -> str:
    techniques = doc["attack"]
    if not techniques:
        return '<p class="muted">No ATT&amp;CK techniques tagged.</p>'
    top = max(t["score"] for t in techniques)
    per_row, w, h = 10, 118, 40
    marks = []
    for i, t in enumerate(techniques):
        cx, cy = (i % per_row) * (w + 4), (i // per_row) * (h + 4)
        shade = 0.25 + 0.75 * t["score"] / top
        marks.append(f'<g><rect class="attack-cell" x="{cx}" y="{cy}" width="{w}" height="{h}" rx="3" '
                     f'fill="rgba(8,81,156,{shade:.2f})"><title>{_esc(t["id"])}: {_esc("; ".join(t["detections"]))}'
                     f'</title></rect><text x="{cx + 6}" y="{cy + 17}" fill="#fff">{_esc(t["id"])}</text>'
                     f'<text x="{cx + 6}" y="{cy + 32}" fill="#fff">{t["score"]} detection(s)</text></g>')
    rows = (len(techniques) + per_row - 1) // per_row
    return (f'<svg class="chart" id="attack-chart" width="{per_row * (w + 4)}" height="{rows * (h + 4)}" '
            f'role="img" aria-label="ATT&amp;CK heat map">{"".join(marks)}</svg>')


def _detection(det: dict[str, Any]) -> str:
    tags = "".join(f'<span class="tag">{_esc(t)}</span>' for t in det["mitre"])
    risk = ", ".join(f'{_esc(r["field"])} ({_esc(r["type"])}, {r["score"]})' for r in det["risk_objects"])
    threat = ", ".join(_esc(t["field"]) for t in det["threat_objects"]) or "—"
    thr = det["throttling"]
    throttle = f'{_esc(", ".join(thr["fields"]))} for {_esc(thr["period"])}' if thr else "none"
    sched = det["schedule"]
    rows = "".join(
        f'<tr><td>{_esc(c["kind"])}</td><td>{_esc(c["name"])}</td><td>{_esc(c["source"])}</td>'
        f'<td>{"fires" if c["expect"] else "silent"}</td><td class="{c["result"].replace(" ", "-")}">'
        f'{_esc(c["result"])}</td><td class="muted">{_esc(c["detail"])}</td></tr>' for c in det["tests"])
    ev = det["evaluation"]
    if ev:
        missed = "".join(f'<li>{_esc(m.get("instance"))}: {_esc(m.get("reason"))}</li>' for m in ev["missed"])
        fps = ", ".join(f'{_esc(k.replace("_", " "))} {v}' for k, v in ev["false_positives"].items())
        evaluation = (f'<p>Evaluation: caught <b>{ev["caught"]}</b> of {ev["expected"]} attack instance(s) '
                      f'({ev["behind_open_alert"]} more behind an open alert on the same entity); '
                      f'{ev["suppressed"]} alert(s) suppressed by throttling; false positives: {fps}.</p>'
                      + (f'<p>Missed:</p><ul>{missed}</ul>' if missed else ""))
    else:
        evaluation = '<p class="muted">Not in an evaluation.</p>'
    return (f'<div class="det" id="det-{_esc(det["id"])}"><h3>{_esc(det["name"])}</h3>'
            f'<p><span class="tag">{_esc(det["area"])}</span><span class="tag">{_esc(det["type"])}</span>'
            f'logic: {_esc(", ".join(det["logic"]))}; schedule <code>{_esc(sched["cron"])}</code> over '
            f'<code>{_esc(sched["earliest"])}</code>…<code>{_esc(sched["latest"])}</code>; throttling: {throttle}</p>'
            f'<p>Risk: {risk}; threat objects: {threat}; ATT&amp;CK: {tags or "—"}; enforces: '
            f'{_esc(", ".join(det["enforces"]))}</p>'
            f'<table><tr><th>case</th><th>name</th><th>records</th><th>expects</th><th>result</th><th></th></tr>'
            f'{rows}</table>{evaluation}</div>')


def render(doc: dict[str, Any]) -> str:
    """The whole page for one report document."""
    names = {d["id"]: d["name"] for d in doc["detections"]}
    pack = doc["pack"]
    inputs = doc["inputs"]
    source = []
    source.append("test results included" if inputs["tests"] else "no test results given (smguard test --format json)")
    seeds = inputs.get("evaluation_seeds") or []
    source.append(f'evaluation of {inputs["evaluation_days"]} day(s) from {inputs["evaluation_start"]}, '
                  f'{len(seeds)} seed(s)' if inputs["evaluation"] else "no evaluation given (smguard evaluate --json FILE)")
    dets = "".join(_detection(d) for d in doc["detections"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(pack["label"])} {_esc(pack["version"])}: coverage and evaluation</title>
<style>{CSS}</style></head>
<body><header><h1>{_esc(pack["label"])} <small>{_esc(pack["app_id"])} {_esc(pack["version"])}</small></h1>
<div>{_esc("; ".join(source))}</div></header>
<main>
<section id="summary"><h2>Summary</h2>{_summary(doc)}</section>
<section id="matrix"><h2>Guardrail matrix</h2>{_matrix(doc, names)}</section>
<section id="volume"><h2>Alert volume forecast (alerts per day per detection)</h2>{_volume(doc)}</section>
<section id="timeline"><h2>Timeline of one evaluation week (the first seed)</h2>{_timeline(doc)}</section>
<section id="attack"><h2>ATT&amp;CK heat map</h2>{_attack(doc)}</section>
<section id="detections"><h2>Detections</h2>{dets}</section>
</main></body></html>
"""
