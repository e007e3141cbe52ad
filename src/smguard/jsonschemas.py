"""Load the JSON Schemas shipped in ``smguard/schema`` and report errors with lines.

One mechanism for every YAML input kind (detection, macro, lookup, baseline,
scenario): a Draft 2020-12 schema plus :class:`~smguard.yamlio.Located` line maps.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from smguard.errors import Problem
from smguard.yamlio import Located


@cache
def schema(name: str) -> dict[str, Any]:
    """The schema ``smguard/schema/<name>.schema.json`` as a dict."""
    text = resources.files("smguard.schema").joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=FormatChecker())


def _describe(err: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in err.absolute_path)
    prefix = f"{where}: " if where else ""
    if err.validator == "additionalProperties":
        return f"{prefix}{err.message.replace('Additional properties are not allowed', 'unknown key(s)')}"
    return f"{prefix}{err.message}"


def check(name: str, doc: Located) -> list[Problem]:
    """Every schema violation of ``doc`` as a located problem, sorted by line."""
    problems = []
    for err in validator(name).iter_errors(doc.data):
        # For a oneOf/anyOf, the most specific sub-error names the real fault.
        best = jsonschema.exceptions.best_match([err]) if err.context else err
        problems.append(doc.problem(list(best.absolute_path), _describe(best)))
    return sorted(set(problems))


def load_valid(path: str | Path, name: str) -> Located:
    """Load a YAML file and raise every schema problem at once (for single-file inputs)."""
    from smguard import yamlio
    from smguard.errors import SmguardError

    doc = yamlio.load(path)
    problems = check(name, doc)
    if problems:
        raise SmguardError(problems)
    return doc
