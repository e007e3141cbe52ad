"""Coverage: every seed guardrail is covered or explained, and the README's table is current."""

from __future__ import annotations

import json

from smguard.model import usable_pack
from smguard.testing.coverage import coverage_rows, markdown, navigator_layer, readme_block


def test_every_guardrail_is_covered_or_has_a_reason(repo_root):
    pack, _ = usable_pack(repo_root)
    gaps = [r.guardrail.id for r in coverage_rows(pack) if r.status == "GAP"]
    assert gaps == []


def test_readme_coverage_table_is_current(repo_root):
    pack, _ = usable_pack(repo_root)
    text = (repo_root / "README.md").read_text()
    assert readme_block(text, "coverage") == markdown(pack), "run: smguard coverage --readme README.md"


def test_navigator_layer_is_valid_json_with_every_technique(repo_root):
    pack, _ = usable_pack(repo_root)
    layer = json.loads(json.dumps(navigator_layer(pack)))
    ids = {t["techniqueID"] for t in layer["techniques"]}
    expected = {t for d in pack.detections for t in d.data["tags"].get("mitre_attack_id", [])}
    assert ids == expected and layer["domain"] == "enterprise-attack"
    assert layer["versions"]["layer"] == "4.5"
