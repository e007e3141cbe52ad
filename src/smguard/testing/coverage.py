"""Guardrail × detection × tests coverage, and an ATT&CK Navigator layer.

Coverage is computed from the pack itself (``guardrail.enforces`` and ``tests``), so the
table cannot drift from what ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smguard.model import Pack
from smguard.model.catalog import Guardrail, load_catalog
from smguard.model.entities import Detection

NAVIGATOR_VERSIONS = {"attack": "16", "navigator": "5.1.0", "layer": "4.5"}


@dataclass
class Row:
    guardrail: Guardrail
    detections: list[Detection]

    @property
    def status(self) -> str:
        """covered / partial (detections see only part, reason in guardrails.yml) / not observable / GAP."""
        if self.detections:
            return "partial" if self.guardrail.partial else "covered"
        return "not observable" if self.guardrail.not_observable else "GAP"

    def cases(self) -> tuple[int, int]:
        pos = sum(1 for d in self.detections for c in d.tests if c["expect"]["results"] != 0)
        neg = sum(1 for d in self.detections for c in d.tests if c["expect"]["results"] == 0)
        return pos, neg


def coverage_rows(pack: Pack) -> list[Row]:
    catalog = load_catalog(pack.root / "guardrails.yml")
    by_id: dict[str, list[Detection]] = {gid: [] for gid in catalog.entries}
    for det in sorted(pack.detections, key=lambda d: d.name):
        if det.data["status"] == "deprecated":
            continue  # a disabled search observes nothing
        for gid in det.enforces:
            by_id.setdefault(gid, []).append(det)
    return [Row(g, by_id[g.id]) for g in catalog.entries.values()]


def markdown(pack: Pack) -> str:
    rows = coverage_rows(pack)
    out = ["| guardrail | area | status | detections | tests (fire / silent) |", "|---|---|---|---|---|"]
    for r in rows:
        if r.detections:
            dets = "<br>".join(d.name for d in r.detections)
            if r.guardrail.partial:
                dets += f"<br>partial: {r.guardrail.partial}"
            pos, neg = r.cases()
            tests = f"{pos} / {neg}"
        else:
            dets = f"not observable in CloudTrail: {r.guardrail.not_observable}" if r.guardrail.not_observable else "—"
            tests = "—"
        out.append(f"| `{r.guardrail.id}` {r.guardrail.title} | {r.guardrail.area} | {r.status} | {dets} | {tests} |")
    covered = sum(r.status == "covered" for r in rows)
    partial = sum(r.status == "partial" for r in rows)
    unobs = sum(r.status == "not observable" for r in rows)
    gaps = sum(r.status == "GAP" for r in rows)
    out.append("")
    out.append(f"{len(rows)} guardrails: {covered} covered, {partial} partial (what is not seen is given), {unobs} not observable in CloudTrail (reason given), {gaps} gaps.")
    return "\n".join(out)


def navigator_layer(pack: Pack) -> dict[str, Any]:
    """An ATT&CK Navigator layer (format 4.5) scoring techniques by how many detections cover them."""
    techniques: dict[str, list[str]] = {}
    for det in pack.detections:
        for t in det.data["tags"].get("mitre_attack_id", []):
            techniques.setdefault(t, []).append(det.name)
    top = max((len(v) for v in techniques.values()), default=1)
    return {
        "name": f"{pack.settings.label} coverage",
        "versions": NAVIGATOR_VERSIONS,
        "domain": "enterprise-attack",
        "description": f"ATT&CK techniques covered by {pack.settings.app_id} {pack.settings.version}",
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True},
        "hideDisabled": False,
        "techniques": [
            {"techniqueID": tid, "score": len(names), "color": "", "enabled": True, "showSubtechniques": True,
             "comment": "; ".join(sorted(names))}
            for tid, names in sorted(techniques.items())
        ],
        "gradient": {"colors": ["#c6dbef", "#08519c"], "minValue": 0, "maxValue": top},
        "legendItems": [{"label": "covered by smguard detections", "color": "#08519c"}],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
    }


def replace_block(text: str, name: str, body: str) -> str:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"markers {start} / {end} not found")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def readme_block(text: str, name: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")
