"""The README's examples are real: its scenario and structured search load and compile."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_ci_runs_the_readme_test_command_verbatim(repo_root):
    """CI must run exactly what a newcomer runs (issue 11, item 1)."""
    quick = (repo_root / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = blocks(quick, "sh")
    assert len(commands) >= 2, "the quick start has a build command and a test command"
    test_command = commands[1].strip()
    assert test_command.endswith("pytest"), test_command
    ci_lines = [line.strip() for line in (repo_root / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


# Spelled in pieces so that this file is not itself a hit of the check it makes.
_SHARED = "sha" + "red"
OUTSIDE = re.compile(rf"SMGUARD_{_SHARED.upper()}|\.\./{_SHARED}|parent\s*/\s*\"{_SHARED}\"|/work/{_SHARED}")


def test_nothing_reaches_outside_the_repository_for_test_data(repo_root):
    """Tests pass on a fresh clone with nothing beside it: no path to the hand-over folder beside
    the repository, and no environment variable pointing at it."""
    offenders = []
    for top in ("tests", "src", ".ci", "bench"):
        for path in (repo_root / top).rglob("*"):
            if path.resolve() == Path(__file__).resolve():
                continue
            if path.suffix in (".py", ".sh", "") and path.is_file() and "data" not in path.parts:
                text = path.read_text(errors="replace")
                if OUTSIDE.search(text):
                    offenders.append(str(path.relative_to(repo_root)))
    assert offenders == [], offenders
    escu = repo_root / "tests" / "data" / "corpus" / "escu"
    assert {"LICENSE", "COMMIT", "escu_cloudtrail_searches.json"} <= {p.name for p in escu.iterdir()}
