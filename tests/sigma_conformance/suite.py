"""The peer conformance suite's machinery: logs, conversions, evaluation, the table.

A peer (SigmaHQ's rules, converted by pySigma's Splunk backend) writes SPL this pack's
own searches never exercise. Every converted search runs on the engine over the same
logs, and its matched eventIDs are compared with :mod:`.reference`, which evaluates the
rule itself over the raw JSON.

The rules: SigmaHQ's AWS CloudTrail rules, vendored read-only in
``tests/data/corpus/sigma_aws_cloudtrail`` (Detection Rule License 1.1, commit in
``COMMIT``), plus this suite's own rules in ``rules/`` for what SigmaHQ's do not use
(CIDR, regex under OR and NOT, keywords, arrays, exists, null, a temporal correlation).

The logs: three generated hours with every shipped scenario (``smguard.generate``) and
the hand-written records of :mod:`.records`, merged in time order into one NDJSON file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import records as handwritten
from .reference import NotModelled, RawEvent, matched_ids

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "data" / "corpus" / "sigma_aws_cloudtrail"
OWN_RULES = Path(__file__).resolve().parent / "rules"
TABLE = Path(__file__).resolve().parent / "conformance_table.md"

START = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
HOURS = 3
SEED = 11
NOW = (START + dt.timedelta(hours=HOURS + 2)).timestamp()  # after the hand-written records too
INDEX, SOURCETYPE = "aws", "aws:cloudtrail"

# What pySigma's Splunk backend refuses, with its reason: asserted, so a change shows.
KNOWN_REFUSALS = {
    "aws_update_login_profile.yml": "ORing FieldRef matching is not yet supported by Splunk backend",
}

# Where Splunk with the Splunk Add-on for AWS and the raw-JSON reference disagree by
# design: the rule names a field the add-on computes and the raw record lacks.
KNOWN_DIVERGENCES = {
    "aws_delete_saml_provider.yml": (
        "status is computed by the add-on (action/status lookup), absent from the raw record: "
        "the reference never matches, Splunk with the add-on matches successful calls"),
}

LAST_TABLE: list[str] = []


def rule_files() -> list[Path]:
    return sorted((CORPUS / "rules").glob("*.yml")) + sorted(OWN_RULES.glob("*.yml"))


# ------------------------------------------------------------------ logs


@dataclass
class Logs:
    path: Path
    events: list[dict[str, Any]]       # as the engine sees them (add-on fields included)
    raw: list[RawEvent]                # the JSON records and their text, for the reference


def build_logs(workdir: Path) -> Logs:
    from smguard.cloudtrail.reader import ReadReport
    from smguard.generate import generate, list_scenarios
    from smguard.scan.logs import read_events

    gen = workdir / "day.ndjson"
    generate(hours=HOURS, seed=SEED, start=START, scenarios=list_scenarios(REPO), out=gen, pack_root=REPO)
    lines = gen.read_text().splitlines()
    gen.unlink()
    lines += [json.dumps(r, separators=(",", ":")) for r in handwritten.records(START)]
    parsed = [(json.loads(line), line) for line in lines]
    parsed.sort(key=lambda p: p[0]["eventTime"])  # stable: the generator's order for ties
    path = workdir / "sigma_logs.ndjson"
    path.write_text("".join(line + "\n" for _, line in parsed))
    report = ReadReport()
    events = list(read_events([str(path)], index=INDEX, sourcetype=SOURCETYPE, report=report, strict=True))
    return Logs(path, events, [RawEvent(rec, line) for rec, line in parsed])


# ------------------------------------------------------------------ conversion


@dataclass
class Conversion:
    file: str
    origin: str                      # "SigmaHQ" or "smguard"
    docs: list[dict[str, Any]]
    queries: list[str] = field(default_factory=list)
    refused: str = ""


def convert_all() -> dict[str, Conversion]:
    """Every rule file converted by the Splunk backend with no processing pipeline (the
    rules' own CloudTrail field names, which the engine's events carry)."""
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError
    from sigma.processing.pipeline import ProcessingPipeline

    out: dict[str, Conversion] = {}
    for p in rule_files():
        text = p.read_text()
        conv = Conversion(p.name, "SigmaHQ" if p.parent.parent == CORPUS else "smguard",
                          [d for d in yaml.safe_load_all(text) if d])
        try:
            conv.queries = list(SplunkBackend(ProcessingPipeline()).convert(SigmaCollection.from_yaml(text)))
        except SigmaError as exc:
            conv.refused = str(exc).split("\n")[0]
        out[p.name] = conv
    return out


# ------------------------------------------------------------------ evaluation


@dataclass
class Outcome:
    engine: set[str] | None = None
    engine_rows: int = 0
    error: str = ""
    reference: set[str] | None = None
    reference_error: str = ""


def run_query(spl: str, logs: Logs) -> tuple[set[str], int]:
    from smguard.spl import SearchContext, run

    res = run(spl, logs.events, SearchContext(), now=NOW)
    return {i for ids in res.event_ids for i in ids}, len(res.rows)


def evaluate(conversions: dict[str, Conversion], logs: Logs) -> dict[str, Outcome]:
    from smguard.errors import SmguardError

    outcomes: dict[str, Outcome] = {}
    for name, conv in conversions.items():
        o = Outcome()
        try:
            o.reference = matched_ids(conv.docs, logs.raw)
        except NotModelled as exc:
            o.reference_error = str(exc)
        if not conv.refused:
            try:
                ids: set[str] = set()
                for q in conv.queries:
                    got, rows = run_query(q, logs)
                    ids |= got
                    o.engine_rows += rows
                o.engine = ids
            except SmguardError as exc:
                o.error = str(exc)
        outcomes[name] = o
    return outcomes


# ------------------------------------------------------------------ the table


def table(conversions: dict[str, Conversion], outcomes: dict[str, Outcome]) -> list[str]:
    """One markdown row per rule: origin, engine matches, reference matches, verdict (no
    ``|`` inside a cell, so rows split on ``" | "``)."""
    lines = ["| rule | origin | engine | reference | verdict |", "| --- | --- | --- | --- | --- |"]
    for name, conv in conversions.items():
        o = outcomes[name]
        ref = "-" if o.reference is None else str(len(o.reference))
        if conv.refused:
            verdict, eng = f"pySigma refuses: {conv.refused}", "-"
        elif o.error:
            verdict, eng = f"engine error: {o.error}", "-"
        else:
            eng = str(len(o.engine or ()))
            if o.reference is None:
                verdict = f"reference cannot evaluate: {o.reference_error}"
            elif o.engine == o.reference:
                verdict = "agree"
            elif name in KNOWN_DIVERGENCES:
                verdict = f"known divergence: {KNOWN_DIVERGENCES[name]}"
            else:
                verdict = "DISAGREE"
        lines.append(f"| {name} | {conv.origin} | {eng} | {ref} | {verdict} |")
    return lines


def write_table_requested() -> bool:
    return os.environ.get("SMGUARD_WRITE_SIGMA_TABLE") == "1"
