"""Strict mode types resource names in requestParameters (issue 11, item 10).

A scenario once wrote ``modelName: 42`` into 65 records and ``check-logs --strict-schema``
passed them. The record schema's ``requestParametersStrict`` now says every parameter
that names or identifies a resource (``…Name``, ``…Arn``, ``…Id`` in the generator's event
catalog) is a string; scenario loading checks the same rule (tests/generate/test_errors.py).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from smguard.cli import main
from smguard.cloudtrail.schema import jsonschema_validator, validate_record
from smguard.generate import catalog, scenario_records
from smguard.jsonschemas import schema

ROOT = Path(__file__).resolve().parents[2]
KNOWN = schema("cloudtrail_record")["$defs"]["requestParametersStrict"]["properties"]


def _catalog_names() -> set[str]:
    return {p for spec in catalog.EVENTS.values() if isinstance(spec.request, dict)
            for p, v in spec.request.items() if re.search(r"(Name|Arn|Id)$", p) and isinstance(v, str)}


def test_schema_and_catalog_name_the_same_parameters():
    assert set(KNOWN) == _catalog_names()
    assert all(v == {"type": "string"} for v in KNOWN.values())


@pytest.fixture(scope="module")
def create_model() -> dict:
    recs = scenario_records("manual_endpoint_deployment", seed=1, pack_root=ROOT)
    rec = next(r for r in recs if r["eventName"] == "CreateModel")
    assert validate_record(rec, strict=True) == []
    return rec


@pytest.mark.parametrize("value", [42, {"a": 1}, ["m"], True, 4.5])
def test_a_resource_name_that_is_not_a_string_fails_strict_only(create_model, value):
    rec = copy.deepcopy(create_model)
    rec["requestParameters"]["modelName"] = value
    (msg,) = validate_record(rec, strict=True)
    assert msg.startswith("/requestParameters/modelName: ") and "is not of type 'string'" in msg
    assert validate_record(rec) == []  # real logs (lenient) are not judged by it
    assert not jsonschema_validator(strict=True).is_valid(rec) and jsonschema_validator().is_valid(rec)


def test_every_known_name_is_checked_and_null_parameters_pass(create_model):
    for name in KNOWN:
        rec = copy.deepcopy(create_model)
        rec["requestParameters"] = {name: 7}
        assert validate_record(rec, strict=True) == [f"/requestParameters/{name}: 7 is not of type 'string'"]
    rec = copy.deepcopy(create_model)
    rec["requestParameters"] = None
    assert validate_record(rec, strict=True) == []


def test_check_logs_strict_schema_refuses_it(tmp_path, create_model, capsys):
    rec = copy.deepcopy(create_model)
    rec["requestParameters"]["modelName"] = 42
    path = tmp_path / "bad.ndjson"
    path.write_text(json.dumps(create_model) + "\n" + json.dumps(rec) + "\n")
    assert main(["check-logs", "--strict-schema", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2:" in out and "/requestParameters/modelName" in out
    assert main(["check-logs", str(path)]) == 0
