"""The README's examples are real: its scenario and structured search load and compile."""

from __future__ import annotations

import re

import yaml

from smguard.compile.search import compile_structured


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_readme_scenario_example_loads(repo_root, tmp_path):
    from smguard.generate import load_baseline, load_scenario, render_scenario

    text = (repo_root / "README.md").read_text()
    example = next(b for b in blocks(text, "yaml") if b.startswith("description:"))
    path = tmp_path / "readme_example.yml"
    path.write_text(example)
    baseline = load_baseline(repo_root / "generators" / "baseline.yml")
    scenario = load_scenario(path, baseline)
    from datetime import UTC, datetime

    records = render_scenario(baseline, scenario, datetime(2026, 11, 24, 10, tzinfo=UTC), 1)
    assert [r["eventName"] for r in records] == ["CreateModel", "CreateEndpoint"] + ["ListRoles"] * 5
    assert all(r["errorCode"] == "AccessDenied" for r in records[2:])


def test_readme_structured_search_example_compiles(repo_root):
    text = (repo_root / "README.md").read_text()
    example = next(b for b in blocks(text, "yaml") if b.startswith("search:"))
    search = yaml.safe_load(example)["search"]
    spl = compile_structured(search, base_macro="sagemaker_cloudtrail", filter_macro="x_filter").spl
    assert spl.startswith('`sagemaker_cloudtrail` eventSource="sagemaker.amazonaws.com"')
    assert "| lookup sagemaker_approved_deployers role_arn AS allow_value_0" in spl
