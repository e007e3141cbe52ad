"""Load the JSON Schemas shipped in ``smguard/schema`` and report errors with lines.

One mechanism for every YAML input kind (detection, macro, lookup, baseline,
scenario): a Draft 2020-12 schema plus :class:`~smguard.yamlio.Located` line maps.
"""

from __future__ import annotations

import json
import pickle
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from smguard.errors import Problem
from smguard.memo import LRU
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


def _leaves(err: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors worth showing for ``err``.

    For a oneOf/anyOf (``search`` is structured *or* raw), the whole-value message "is not
    valid under any of the given schemas" names nothing; the branch with the fewest
    errors (and the right shape) is the one the author meant, and its own errors name
    the real fault.
    """
    if err.validator not in ("oneOf", "anyOf") or not err.context:
        return [err]
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in err.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    depth = len(err.absolute_path)

    def fit(errs: list[jsonschema.ValidationError]) -> tuple[bool, int]:
        # A branch whose very shape is wrong (a type error on the value itself) fits worst.
        shape = any(e.validator in ("type", "const", "enum") and len(e.absolute_path) == depth for e in errs)
        return shape, len(errs)

    best = min(branches.values(), key=fit)
    return [leaf for sub in best for leaf in _leaves(sub)]


def _problems(err: jsonschema.ValidationError, doc: Located) -> list[Problem]:
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        patterns = list(err.schema.get("patternProperties", {}))
        extra = [k for k in err.instance if k not in allowed and not any(re.search(p, str(k)) for p in patterns)]
        if extra:
            where = "/".join(str(p) for p in path)
            prefix = f"{where}: " if where else ""
            return [doc.problem([*path, k], f"{prefix}unknown key {k!r}") for k in extra]
    return [doc.problem(path, _describe(err))]


_VALID: LRU[bool] = LRU(4096)  # (schema name, pickled data) of documents found valid


def check(name: str, doc: Located) -> list[Problem]:
    """Every schema violation of ``doc`` as a located problem, sorted by line.

    Validation is a pure function of the schema and the data, and most documents are
    valid and validated again by every command of a process (see
    :func:`smguard.yamlio.loads`): a valid document's data, pickled (exact: types and
    key order kept), is remembered, so validating it again costs one pickle. An invalid
    one is validated each time, as its problems carry the document's path and lines.
    """
    try:
        key = (name, pickle.dumps(doc.data, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, RecursionError):
        key = None
    if key is not None and _VALID.get(key):
        return []
    problems = []
    for err in validator(name).iter_errors(doc.data):
        for leaf in _leaves(err):
            problems.extend(_problems(leaf, doc))
    if not problems and key is not None:
        _VALID.put(key, True)
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
