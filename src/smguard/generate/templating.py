"""The one templating syntax of scenario files: ``{{ expression }}``.

Expressions (no arbitrary code, so a scenario file cannot run anything):

- ``baseline.<path>``: a value from the baseline, e.g. ``baseline.buckets.approved[0]``,
  ``baseline.people[3].email``, ``baseline.account`` (first account), ``baseline.region``.
- ``vars.<name>[...]``: a scenario variable (rendered once per instance, in order).
- ``actor.<field>``: the step's principal: ``arn``, ``name``, ``account``, ``role_arn``,
  ``source_ip``, ``access_key``.
- ``faker.<provider>`` or ``faker.<provider>(literal, ...)``: a faker value, seeded per
  scenario instance (e.g. ``faker.ipv4_public``, ``faker.user_name``).
- ``rep`` / ``rep1``: the repetition number of the step (0-based / 1-based).
- ``hex(n)``, ``int(a, b)``: seeded random hex string / integer.
- ``choice(<path>)`` / ``cycle(<path>)``: a random element / element ``rep`` modulo length
  of a list reached by a path.
- ``secret_suffix(<expression>)``: the 6 characters Secrets Manager appends to the ARN of the
  secret so named, the same the baseline uses (e.g.
  ``secret:{{ cycle(baseline.resources.secrets) }}-{{ secret_suffix(cycle(baseline.resources.secrets)) }}``).

A string that is exactly one ``{{ … }}`` keeps the value's type (a list stays a list);
otherwise values are interpolated as text. Mappings with a single key encode their
rendered value: ``$policy`` (indented JSON text, the way CloudTrail shows IAM
``policyDocument`` and KMS ``policy``), ``$json`` (compact JSON text), ``$urlencoded_json``
(the form of IAM API responses) and ``$base64`` (lifecycle-config scripts).
"""

from __future__ import annotations

import ast
import base64
import json
import random
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from smguard.generate.ids import secret_suffix
from smguard.generate.records import policy_json, urlencoded_json

EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*)((?:\.[A-Za-z_][A-Za-z_0-9-]*|\[-?\d+\])*)$")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z_0-9-]*)|\[(-?\d+)\]")
_CALL = re.compile(r"^([a-z_]+)\((.*)\)$")
ROOTS = ("baseline", "vars", "actor", "faker", "rep", "rep1")
FUNCS = ("hex", "int", "choice", "cycle", "secret_suffix")
ACTOR_FIELDS = ("arn", "name", "account", "role_arn", "source_ip", "access_key", "user_agent")
DIRECTIVES = ("$policy", "$json", "$urlencoded_json", "$base64")


class TemplateError(ValueError):
    """An expression that cannot be evaluated; the message says which and why."""


@cache
def faker_instance(locale: str = "en_US") -> Any:
    from faker import Faker

    return Faker(locale)


@dataclass
class Scope:
    """What expressions can see while rendering one scenario instance."""

    baseline: dict[str, Any]
    rng: random.Random
    vars: dict[str, Any] = field(default_factory=dict)
    actor: dict[str, Any] = field(default_factory=dict)
    rep: int = 0
    locale: str = "en_US"
    _fake: Any = None

    @property
    def fake(self) -> Any:
        if self._fake is None:
            self._fake = faker_instance(self.locale)
            self._fake.seed_instance(self.rng.getrandbits(64))
        return self._fake


def walk(root: Any, steps: str, expr: str) -> Any:
    cur = root
    for m in _STEP.finditer(steps):
        name, index = m.group(1), m.group(2)
        try:
            if name is not None:
                if not isinstance(cur, dict) or name not in cur:
                    raise TemplateError(f"{expr!r}: no {name!r} here")
                cur = cur[name]
            else:
                if not isinstance(cur, list):
                    raise TemplateError(f"{expr!r}: [{index}] used on something that is not a list")
                cur = cur[int(index)]
        except IndexError:
            raise TemplateError(f"{expr!r}: index [{index}] is out of range") from None
    return cur


def _path_value(expr: str, scope: Scope) -> Any:
    m = _PATH.match(expr)
    if not m:
        raise TemplateError(f"{expr!r} is not a valid expression")
    root, rest = m.group(1), m.group(2)
    if root == "baseline":
        return walk(scope.baseline, rest, expr)
    if root == "vars":
        return walk(scope.vars, rest, expr)
    if root == "actor":
        return walk(scope.actor, rest, expr)
    if root == "rep" and not rest:
        return scope.rep
    if root == "rep1" and not rest:
        return scope.rep + 1
    if root == "faker":
        return _faker(expr, rest.lstrip("."), (), scope)
    raise TemplateError(f"{expr!r}: unknown name {root!r} (use one of {', '.join(ROOTS)})")


def _faker(expr: str, provider: str, args: tuple[Any, ...], scope: Scope) -> Any:
    fn = getattr(scope.fake, provider, None)
    if not provider.isidentifier() or provider.startswith("_") or not callable(fn):
        raise TemplateError(f"{expr!r}: faker has no provider {provider!r}")
    return fn(*args)


def evaluate(expr: str, scope: Scope) -> Any:
    expr = expr.strip()
    if expr.startswith("faker.") and "(" in expr and expr.endswith(")"):
        name, _, argtext = expr[len("faker."):].partition("(")
        try:
            args = ast.literal_eval(f"({argtext[:-1]},)") if argtext[:-1].strip() else ()
        except (ValueError, SyntaxError):
            raise TemplateError(f"{expr!r}: faker arguments must be literals") from None
        return _faker(expr, name, tuple(args), scope)
    m = _CALL.match(expr)
    if m:
        fn, argtext = m.group(1), m.group(2).strip()
        if fn == "hex":
            n = int(argtext)
            return f"{scope.rng.getrandbits(4 * n):0{n}x}"
        if fn == "int":
            lo, hi = (int(x) for x in argtext.split(","))
            return scope.rng.randint(lo, hi)
        if fn == "secret_suffix":
            return secret_suffix(str(evaluate(argtext, scope)))
        if fn in ("choice", "cycle"):
            seq = _path_value(argtext, scope)
            if not isinstance(seq, list) or not seq:
                raise TemplateError(f"{expr!r}: {argtext} is not a non-empty list")
            return scope.rng.choice(seq) if fn == "choice" else seq[scope.rep % len(seq)]
        raise TemplateError(f"{expr!r}: unknown function {fn!r} (use one of {', '.join(FUNCS)})")
    return _path_value(expr, scope)


def render(value: Any, scope: Scope) -> Any:
    """Render every ``{{ … }}`` and encoding directive in a YAML value."""
    if isinstance(value, str):
        whole = EXPR.fullmatch(value.strip())
        if whole and "{{" not in whole.group(1):
            return evaluate(whole.group(1), scope)
        if "{{" in value:
            return EXPR.sub(lambda m: _text(evaluate(m.group(1), scope)), value)
        return value
    if isinstance(value, dict):
        if len(value) == 1:
            (k, v), = value.items()
            if k == "$policy":
                return policy_json(render(v, scope))
            if k == "$json":
                return json.dumps(render(v, scope), separators=(",", ":"))
            if k == "$urlencoded_json":
                return urlencoded_json(render(v, scope))
            if k == "$base64":
                return base64.b64encode(str(render(v, scope)).encode()).decode()
        return {k: render(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, scope) for v in value]
    return value


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def expressions(value: Any, key: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every ``{{ … }}`` expression in a YAML value, with the key path it sits at."""
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, str):
        out.extend((key, m.group(1).strip()) for m in EXPR.finditer(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            out.extend(expressions(v, key + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(expressions(v, key + (i,)))
    return out


def unbalanced(value: Any, key: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every string in a YAML value with a ``{{`` or ``}}`` that is not part of a whole
    ``{{ … }}`` expression, with its key path and why.

    Without this, ``"{{ faker.user_agent }"`` matches no expression and is written into
    every record literally; a scenario file has no reason to hold a bare ``{{`` or ``}}``.
    """
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, str):
        rest = EXPR.sub("", value)
        if "{{" in rest or "}}" in rest:
            out.append((key, f"unbalanced template in {value!r}: every '{{{{' needs its own '}}}}'"))
        else:
            # the expressions as render() will see them: a whole-value one first (it keeps its type)
            whole = EXPR.fullmatch(value.strip())
            found = [whole.group(1)] if whole and "{{" not in whole.group(1) else [m.group(1) for m in EXPR.finditer(value)]
            if any("{" in e or "}" in e for e in found):
                out.append((key, f"{value!r}: braces inside an expression (a '{{{{' or '}}}}' is missing or extra)"))
    elif isinstance(value, dict):
        for k, v in value.items():
            out.extend(unbalanced(v, key + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(unbalanced(v, key + (i,)))
    return out


def static_check(expr: str, baseline_view: dict[str, Any], var_names: set[str], scope: Scope) -> str | None:
    """Why ``expr`` cannot work, or None. Checks what can be known before rendering.

    An expression holding a brace is a missing ``}}`` (:func:`unbalanced` reports it once)."""
    if "{" in expr or "}" in expr:
        return None
    m = _CALL.match(expr)
    if m and not expr.startswith("faker."):
        fn, argtext = m.group(1), m.group(2).strip()
        if fn not in FUNCS:
            return f"{expr!r}: unknown function {fn!r} (use one of {', '.join(FUNCS)})"
        if fn in ("choice", "cycle", "secret_suffix"):
            return static_check(argtext, baseline_view, var_names, scope)
        try:
            evaluate(expr, scope)
        except (TemplateError, ValueError) as exc:
            return str(exc)
        return None
    if expr.startswith("faker."):
        name = expr[len("faker."):].partition("(")[0]
        fn = getattr(scope.fake, name, None)
        if not name.isidentifier() or name.startswith("_") or not callable(fn):
            return f"{expr!r}: faker has no provider {name!r}"
        return None
    pm = _PATH.match(expr)
    if not pm:
        return f"{expr!r} is not a valid expression"
    root, rest = pm.group(1), pm.group(2)
    if root == "baseline":
        try:
            walk(baseline_view, rest, expr)
        except TemplateError as exc:
            return f"bad reference to the baseline: {exc}"
        return None
    if root == "vars":
        first = _STEP.match(rest)
        name = first.group(1) if first else None
        if name not in var_names:
            return f"{expr!r}: no variable {name!r} defined before this point"
        return None
    if root == "actor":
        first = _STEP.match(rest)
        if not first or first.group(1) not in ACTOR_FIELDS:
            return f"{expr!r}: actor has {', '.join(ACTOR_FIELDS)}"
        return None
    if root in ("rep", "rep1") and not rest:
        return None
    return f"{expr!r}: unknown name {root!r} (use one of {', '.join(ROOTS)})"
