"""Validate CloudTrail records against ``smguard/schema/cloudtrail_record.schema.json``.

Errors and warnings are apart: the schema says what **AWS never writes** (a broken time,
a wrong type, a caller type without its own fields): errors. :func:`record_warnings` says
what is **unusual** but written by AWS or by tools that scrub real captures (a caller
without ``type`` outside a service event, an ``IAMUser`` without ``arn`` outside a failed
console sign-in, a made-up region code): reported, never failing a check.

Two entry points of one schema file: the root is *lenient* (real logs carry fields we do
not know yet, and CloudTrail adds new ones with every minor ``eventVersion``), and
``#/$defs/strictRecord`` is *strict* (smguard's own generator must not invent keys, so an
unknown top-level or ``userIdentity`` key is an error there).

Why a small compiler instead of calling :mod:`jsonschema` per record: jsonschema took
~0.7 ms per record lenient and ~4 ms strict (``unevaluatedProperties`` re-walks every
subschema), so a 100k-record check took minutes. The schema only uses a handful of
keywords, so it is compiled once into nested Python closures (~20x faster). Keywords
this compiler does not know make :func:`compile_schema` raise, so the schema cannot grow
a rule that is silently ignored; tests check that the compiled validator and jsonschema
agree on valid and broken records (jsonschema stays the reference implementation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from smguard.jsonschemas import schema as _load_schema

SCHEMA_NAME = "cloudtrail_record"
STRICT_REF = "#/$defs/strictRecord"

# A compiled node: check(instance, path, errors) -> names of the object's properties it
# evaluated (for unevaluatedProperties), or an empty tuple.
Check = Callable[[Any, str, list[str]], "set[str] | tuple[()]"]

_IGNORED = {"$schema", "$id", "$defs", "title", "description", "$comment", "examples", "default"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_PY_TYPES: dict[str, type] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}
_NOTHING: tuple[()] = ()


def _ptr(path: str, key: str | int) -> str:
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Compiler:
    def __init__(self, root: dict[str, Any]):
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, not {ref!r}")
        if ref not in self.refs:
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            holder: list[Check] = []
            self.refs[ref] = lambda inst, path, errs: holder[0](inst, path, errs)  # recursion-safe
            holder.append(self.compile(target))
            self.refs[ref] = holder[0]
        return self.refs[ref]

    def compile(self, node: dict[str, Any]) -> Check:  # noqa: C901 - one branch per keyword
        unknown = (
            set(node)
            - _IGNORED
            - {
                "$ref",
                "type",
                "properties",
                "required",
                "pattern",
                "enum",
                "const",
                "minLength",
                "items",
                "dependentRequired",
                "allOf",
                "anyOf",
                "if",
                "then",
                "else",
                "not",
                "unevaluatedProperties",
                "additionalProperties",
            }
        )
        if unknown:
            raise ValueError(f"schema keyword(s) not supported by the compiled validator: {sorted(unknown)}")
        checks: list[Check] = []
        if "$ref" in node:
            checks.append(self.ref(node["$ref"]))
        if "type" in node:
            names = node["type"] if isinstance(node["type"], list) else [node["type"]]
            shown = names[0] if len(names) == 1 else names
            if set(names) <= set(_PY_TYPES):
                # Fast path: one isinstance() against a tuple of Python types.
                pytypes = tuple(_PY_TYPES[n] for n in names)

                def c_type(inst: Any, path: str, errs: list[str], pytypes=pytypes, shown=shown) -> tuple[()]:
                    if not isinstance(inst, pytypes):
                        errs.append(f"{path or '/'}: {_show(inst)} is not of type {shown!r}")
                    return _NOTHING
            else:
                preds = [_TYPES[n] for n in names]

                def c_type(inst: Any, path: str, errs: list[str], preds=preds, shown=shown) -> tuple[()]:
                    if not any(p(inst) for p in preds):
                        errs.append(f"{path or '/'}: {_show(inst)} is not of type {shown!r}")
                    return _NOTHING

            checks.append(c_type)
        if "const" in node:
            const = node["const"]

            def c_const(inst: Any, path: str, errs: list[str], const=const) -> tuple[()]:
                if inst != const or type(inst) is not type(const):
                    errs.append(f"{path or '/'}: {const!r} was expected")
                return _NOTHING

            checks.append(c_const)
        if "enum" in node:
            allowed = node["enum"]
            allowed_set = {(type(v), v) for v in allowed}

            def c_enum(
                inst: Any, path: str, errs: list[str], allowed=allowed, allowed_set=allowed_set
            ) -> tuple[()]:
                try:
                    ok = (type(inst), inst) in allowed_set
                except TypeError:
                    ok = False
                if not ok:
                    errs.append(f"{path or '/'}: {_show(inst)} is not one of {allowed!r}")
                return _NOTHING

            checks.append(c_enum)
        if "pattern" in node or "minLength" in node:
            rx = re.compile(node["pattern"]) if "pattern" in node else None
            min_len = node.get("minLength", 0)
            pattern_text = node.get("pattern")

            def c_str(
                inst: Any, path: str, errs: list[str], rx=rx, min_len=min_len, src=pattern_text
            ) -> tuple[()]:
                if isinstance(inst, str):
                    if len(inst) < min_len:
                        errs.append(
                            f"{path or '/'}: {_show(inst)} should be non-empty"
                            if min_len == 1
                            else f"{path or '/'}: {_show(inst)} is too short"
                        )
                    elif rx is not None and rx.search(inst) is None:
                        errs.append(f"{path or '/'}: {_show(inst)} does not match {src!r}")
                return _NOTHING

            checks.append(c_str)
        if "required" in node:
            required = tuple(node["required"])

            def c_req(inst: Any, path: str, errs: list[str], required=required) -> tuple[()]:
                if isinstance(inst, dict):
                    for key in required:
                        if key not in inst:
                            errs.append(f"{path or '/'}: {key!r} is a required property")
                return _NOTHING

            checks.append(c_req)
        if "dependentRequired" in node:
            deps = {k: tuple(v) for k, v in node["dependentRequired"].items()}

            def c_dep(inst: Any, path: str, errs: list[str], deps=deps) -> tuple[()]:
                if isinstance(inst, dict):
                    for key, needed in deps.items():
                        if key in inst:
                            for other in needed:
                                if other not in inst:
                                    errs.append(f"{path or '/'}: {other!r} is a dependency of {key!r}")
                return _NOTHING

            checks.append(c_dep)
        if "properties" in node:
            props = tuple((k, _ptr("", k), self.compile(v)) for k, v in node["properties"].items())

            def c_props(inst: Any, path: str, errs: list[str], props=props) -> set[str] | tuple[()]:
                if not isinstance(inst, dict):
                    return _NOTHING
                seen = set()
                for key, segment, check in props:
                    if key in inst:
                        seen.add(key)
                        check(inst[key], path + segment, errs)
                return seen

            checks.append(c_props)
        if "items" in node:
            item = self.compile(node["items"])

            def c_items(inst: Any, path: str, errs: list[str], item=item) -> tuple[()]:
                if isinstance(inst, list):
                    for i, value in enumerate(inst):
                        item(value, _ptr(path, i), errs)
                return _NOTHING

            checks.append(c_items)
        if "allOf" in node:
            checks.extend(self.compile(sub) for sub in node["allOf"])
        if "anyOf" in node:
            subs = [self.compile(sub) for sub in node["anyOf"]]

            def c_any(inst: Any, path: str, errs: list[str], subs=subs) -> set[str] | tuple[()]:
                first: list[str] | None = None
                for sub in subs:
                    trial: list[str] = []
                    seen = sub(inst, path, trial)
                    if not trial:
                        return seen
                    first = first if first is not None else trial
                errs.append(
                    f"{path or '/'}: {_show(inst)} is not valid under any of the given schemas"
                    + (f" ({first[0].split(': ', 1)[1]})" if first else "")
                )
                return _NOTHING

            checks.append(c_any)
        if "not" in node:
            negated = self.compile(node["not"])

            def c_not(inst: Any, path: str, errs: list[str], negated=negated) -> tuple[()]:
                trial: list[str] = []
                negated(inst, path, trial)
                if not trial:
                    errs.append(f"{path or '/'}: {_show(inst)} should not be valid under {node['not']!r}")
                return _NOTHING

            checks.append(c_not)
        if "if" in node:
            cond = self.compile(node["if"])
            then = self.compile(node["then"]) if "then" in node else None
            other = self.compile(node["else"]) if "else" in node else None

            def c_if(
                inst: Any, path: str, errs: list[str], cond=cond, then=then, other=other
            ) -> set[str] | tuple[()]:
                trial: list[str] = []
                seen = cond(inst, path, trial)
                branch = then if not trial else other
                if trial:
                    seen = _NOTHING
                if branch is not None:
                    more = branch(inst, path, errs)
                    if more:
                        seen = set(seen) | more
                return seen

            checks.append(c_if)
        if "additionalProperties" in node or "unevaluatedProperties" in node:
            if (
                node.get("additionalProperties", False) is not False
                or node.get("unevaluatedProperties", False) is not False
            ):
                raise ValueError("only additionalProperties/unevaluatedProperties: false is supported")
            own = set(node.get("properties", {})) if "additionalProperties" in node else None
            word = "Additional" if own is not None else "Unevaluated"
            inner = list(checks)

            def c_closed(
                inst: Any, path: str, errs: list[str], inner=inner, own=own, word=word
            ) -> set[str] | tuple[()]:
                seen: set[str] = set()
                for check in inner:
                    got = check(inst, path, errs)
                    if got:
                        seen |= got
                if isinstance(inst, dict):
                    allowed = own if own is not None else seen
                    extra = sorted(k for k in inst if k not in allowed)
                    if extra:
                        errs.append(
                            f"{path or '/'}: unknown key(s) {', '.join(repr(k) for k in extra)} "
                            f"({word.lower()} properties are not allowed)"
                        )
                    return set(inst)
                return _NOTHING

            return c_closed
        if len(checks) == 1:
            return checks[0]

        def c_all(inst: Any, path: str, errs: list[str], checks=tuple(checks)) -> set[str] | tuple[()]:
            seen: set[str] | tuple[()] = _NOTHING
            for check in checks:
                got = check(inst, path, errs)
                if got:
                    seen = got if not seen else (set(seen) | got)
            return seen

        return c_all


def compile_schema(root: dict[str, Any], entry: str | None = None) -> Check:
    """Compile ``root`` (or its local ``entry`` reference) into one checking function."""
    compiler = _Compiler(root)
    return compiler.ref(entry) if entry else compiler.compile({k: v for k, v in root.items() if k != "$defs"})


@cache
def _validator(strict: bool) -> Check:
    root = _load_schema(SCHEMA_NAME)
    return compile_schema(root, STRICT_REF if strict else None)


def validate_record(record: Any, strict: bool = False) -> list[str]:
    """Every way ``record`` breaks the schema, as ``"/json/path: message"`` strings, sorted.

    ``strict=False`` (default) is for users' real logs: unknown keys are fine.
    ``strict=True`` is what ``smguard.generate`` output must pass. Paths are JSON Pointers
    (``/userIdentity/accessKeyId``; ``/`` is the record itself). An empty list means valid.
    """
    errors: list[str] = []
    _validator(bool(strict))(record, "", errors)
    return sorted(set(errors))


def is_valid(record: Any, strict: bool = False) -> bool:
    """True when :func:`validate_record` returns no message."""
    errors: list[str] = []
    _validator(bool(strict))(record, "", errors)
    return not errors


_USUAL_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")


def record_warnings(record: Any) -> list[str]:
    """What is unusual in a record the schema accepts, as ``"/json/path: message"`` strings.

    Each names the situation in which AWS does write it, so a reader can tell a scrubbed
    or hand-made record from a real one; none of them fails ``check-logs``.
    """
    if not isinstance(record, dict):
        return []
    out: list[str] = []
    event_type = record.get("eventType")
    ident = record.get("userIdentity")
    if isinstance(ident, dict):
        kind = ident.get("type")
        if "type" not in ident and event_type != "AwsServiceEvent":
            out.append("/userIdentity: no 'type' (AWS omits it only on service events, eventType AwsServiceEvent)")
        if kind == "IAMUser" and event_type != "AwsConsoleSignIn":
            missing = [k for k in ("arn", "principalId") if k not in ident]
            if missing:
                out.append(f"/userIdentity: IAMUser without {' and '.join(repr(k) for k in missing)} "
                           "(AWS omits them only on failed console sign-ins)")
    region = record.get("awsRegion")
    if isinstance(region, str) and not _USUAL_REGION.match(region):
        out.append(f"/awsRegion: {region!r} is not shaped like an AWS region code (us-east-1, us-gov-west-1)")
    version = record.get("eventVersion")
    if isinstance(version, str) and not version.startswith("1."):
        out.append(f"/eventVersion: {version!r}: CloudTrail writes major version 1")
    for i, res in enumerate(record.get("resources") or []):
        if isinstance(res, dict) and not ({"ARN", "ARNPrefix"} & set(res)):
            out.append(f"/resources/{i}: neither 'ARN' nor 'ARNPrefix'")
    return out


def jsonschema_validator(strict: bool = False) -> Any:
    """The reference :mod:`jsonschema` validator for the same entry point (slow; for tests and tools)."""
    from jsonschema import Draft202012Validator

    root = _load_schema(SCHEMA_NAME)
    if strict:
        root = {**root, "$ref": STRICT_REF}
    return Draft202012Validator(root)
