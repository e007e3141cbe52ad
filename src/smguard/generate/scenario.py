"""Scenarios: short, ordered stories of API calls injected into the baseline.

A scenario names an actor (a baseline principal by reference, or a new one such as an
attacker IAM user with stolen keys), then steps: a call, its parameters, repetitions,
delays and failures. ``load_scenario`` checks everything that can be known before
generation (schema, event names, required parameters, references to baseline entities,
parameter types) and reports each problem as ``path:line``; ``render_scenario`` turns
one instance into CloudTrail records through the same record builder as the baseline.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from smguard import jsonschemas, yamlio
from smguard.cloudtrail import schema as schema_check
from smguard.errors import Problem, SmguardError
from smguard.generate import catalog, ids, templating
from smguard.generate.model import Baseline, Principal, load_baseline
from smguard.generate.records import Ctx, build_record, console_browser, iso, user_agent

_DUR_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_UNIT_ORDER = ("d", "h", "m", "s", "ms")
ACTOR_KINDS = ("person", "pipeline", "execution_role", "service", "break_glass", "iam_user")
REQUEST_PARAMETERS_REF = "#/$defs/requestParametersStrict"
DEFAULT_CLIENT = {"person": "console", "pipeline": "sdk", "execution_role": "vpc", "service": "service",
                  "break_glass": "cli", "iam_user": "cli"}


@dataclass
class Scenario:
    """A validated scenario file."""

    name: str
    path: str
    data: dict[str, Any]
    located: yamlio.Located

    @property
    def description(self) -> str:
        return str(self.data.get("description", "")).strip()

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.data["steps"]

    def duration(self) -> float:
        """Longest time one instance can span, in seconds (for placing it in a window)."""
        total = 0.0
        for st in self.steps:
            total += span(st.get("after", "0s"))[1]
            total += span(st.get("every", "1s"))[1] * (int(st.get("repeat", 1)) - 1)
        return total


def span(text: str | int | float) -> tuple[float, float]:
    """``"5m"`` -> (300, 300); ``"1m..5m"`` -> (60, 300); ``"3h30m"`` -> (12600, 12600); numbers are seconds."""
    if isinstance(text, int | float):
        return float(text), float(text)
    lo, _, hi = str(text).partition("..")
    a, b = _seconds(lo), _seconds(hi or lo)
    if b < a:
        raise ValueError(f"not a duration range: {text!r} (the upper bound is below the lower bound)")
    return a, b


def _seconds(t: str) -> float:
    """``"5m"`` -> 300; compound ``"3h30m"``, ``"1h5m30s"``: units largest first, each once."""
    text = t.strip()
    why = "use e.g. 30s, 5m, 1h, 3h30m, 1h5m30s, or 1m..5m"
    parts = list(_DUR_PART.finditer(text))
    if not parts or "".join(m.group(0) for m in parts) != text:
        raise ValueError(f"not a duration: {t!r} ({why})")
    order = [_UNIT_ORDER.index(m.group(2)) for m in parts]
    if any(b <= a for a, b in zip(order, order[1:], strict=False)):
        raise ValueError(f"not a duration: {t!r} (units must go from largest to smallest, each once: {why})")
    return sum(float(m.group(1)) * _UNIT[m.group(2)] for m in parts)


def _step_id(step: dict[str, Any], i: int) -> str:
    return str(step.get("id") or f"{i + 1}-{step['call'].split(':')[-1]}")


# ----------------------------------------------------------------------------- loading

def load_scenario(path: str | Path, baseline: Baseline | None = None) -> Scenario:
    """Load and fully check a scenario file; raises :class:`SmguardError` with every problem.

    References to baseline entities are checked against ``baseline`` (default: the
    ``baseline.yml`` next to the ``scenarios/`` directory holding the file).
    """
    doc = yamlio.load(path)
    problems = jsonschemas.check("scenario", doc)
    if problems:
        raise SmguardError(problems)
    if baseline is None:
        baseline = load_baseline(Path(path).resolve().parent.parent / "baseline.yml")
    problems = _check(doc, baseline)
    if problems:
        raise SmguardError(sorted(set(problems)))
    return Scenario(name=Path(path).stem, path=doc.path, data=doc.data, located=doc)


def _check_actor(doc: yamlio.Located, actor: dict[str, Any], key: tuple[Any, ...], b: Baseline,
                 var_names: set[str], scope: templating.Scope) -> list[Problem]:
    problems: list[Problem] = []
    kinds = [k for k in ACTOR_KINDS if k in actor]
    if len(kinds) != 1:
        return [doc.problem(key, f"actor needs exactly one of {', '.join(ACTOR_KINDS)}")]
    kind = kinds[0]
    ref = actor[kind]
    if kind == "person" and isinstance(ref, dict):
        teams = {p["permission_set"] for p in b.people}
        if ref.get("permission_set") not in teams:
            problems.append(doc.problem(key + (kind, "permission_set"), f"bad reference to the baseline: no person in permission set {ref.get('permission_set')!r} (have {', '.join(sorted(teams))})"))
    if isinstance(ref, str) and "{{" not in ref:
        if kind == "person" and ref not in ("any", "privileged", "unprivileged") and not any(p["email"] == ref for p in b.people):
            problems.append(doc.problem(key + (kind,), f"bad reference to the baseline: no person {ref!r} (use any, privileged, or an email)"))
        if kind == "pipeline" and ref != "any" and b.principal("pipelines", ref) is None:
            problems.append(doc.problem(key + (kind,), f"bad reference to the baseline: no pipeline role {ref!r}"))
        if kind == "execution_role" and ref not in b.data["execution_roles"] and b.principal("execution_roles", ref) is None:
            problems.append(doc.problem(key + (kind,), f"bad reference to the baseline: no execution role {ref!r} (have {', '.join(b.data['execution_roles'])})"))
        if kind == "service" and b.principal("services", ref) is None:
            problems.append(doc.problem(key + (kind,), f"bad reference to the baseline: no service {ref!r}"))
    for ekey, expr in templating.expressions(actor, key):
        why = templating.static_check(expr, b.view, var_names, scope)
        if why:
            problems.append(doc.problem(ekey, why))
    return problems


def _type_name(v: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "a mapping"}.get(type(v), type(v).__name__)


@cache
def _request_parameters_check() -> schema_check.Check:
    return schema_check.compile_schema(jsonschemas.schema(schema_check.SCHEMA_NAME), REQUEST_PARAMETERS_REF)


def param_type_problem(call: str, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be request parameter ``name`` by the CloudTrail record schema
    (the strict ``requestParameters``, which types resource names), or None.

    The same rule ``check-logs --strict-schema`` applies to the written records, checked
    here so a scenario saying ``modelName: 42`` fails at load with its line."""
    errs: list[str] = []
    _request_parameters_check()({name: value}, "", errs)
    if not errs:
        return None
    want = jsonschemas.schema(schema_check.SCHEMA_NAME)["$defs"]["requestParametersStrict"]["properties"][name]["type"]
    want = want if isinstance(want, str) else want[0]
    return (f"{call} parameter {name!r} should be {_type_name(_EXAMPLE[want])}, not {_type_name(value)} "
            "(the CloudTrail record schema's requestParameters)")


_EXAMPLE: dict[str, Any] = {"string": "", "object": {}, "array": [], "boolean": True, "number": 0, "integer": 0}


def _templated(value: Any) -> bool:
    """A value whose type is known only once rendered: a ``{{ … }}`` string or an encoding directive."""
    if isinstance(value, str):
        return "{{" in value
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in templating.DIRECTIVES


def _check(doc: yamlio.Located, b: Baseline) -> list[Problem]:
    d = doc.data
    problems: list[Problem] = []
    scope = templating.Scope(baseline=b.view, rng=random.Random(0), locale=b.data["faker"].get("locale", "en_US"))
    var_names: set[str] = set()
    for name, value in (d.get("vars") or {}).items():
        for ekey, expr in templating.expressions(value, ("vars", name)):
            why = templating.static_check(expr, b.view, var_names, scope)
            if why:
                problems.append(doc.problem(ekey, why))
        var_names.add(name)
    for field_name in ("account", "region"):
        for ekey, expr in templating.expressions(d.get(field_name), (field_name,)):
            why = templating.static_check(expr, b.view, var_names, scope)
            if why:
                problems.append(doc.problem(ekey, why))
    acct = d.get("account")
    if isinstance(acct, str) and "{{" not in acct and acct not in b.accounts:
        problems.append(doc.problem(("account",), f"bad reference to the baseline: account {acct!r} is not one of {', '.join(b.accounts)}"))
    for section in ("vars", "account", "region", "actor", "steps"):
        for ukey, why in templating.unbalanced(d.get(section), (section,)):
            problems.append(doc.problem(ukey, why))
    problems += _check_actor(doc, d["actor"], ("actor",), b, var_names, scope)
    for i, st in enumerate(d["steps"]):
        key = ("steps", i)
        spec = catalog.lookup(st["call"])
        if spec is None:
            hint = catalog.suggestions(st["call"])
            extra = f" (did you mean {', '.join(hint)}?)" if hint else ""
            problems.append(doc.problem(key + ("call",), f"unknown event name {st['call']!r}{extra}"))
            continue
        params = st.get("params") or {}
        for req in spec.required:
            if params.get(req) is None:
                problems.append(doc.problem(key + ("call",), f"missing required parameter {req!r} for {spec.key}"))
        template = spec.request if isinstance(spec.request, dict) else {}
        for pname, pval in params.items():
            if pval is not None and not _templated(pval):  # None: leave the parameter out
                why = param_type_problem(spec.key, pname, pval)
                if why:
                    problems.append(doc.problem(key + ("params", pname), why))
                    continue
            default = template.get(pname)
            if default is None or pval is None or (isinstance(pval, str) and "{{" in pval):
                continue
            if isinstance(pval, dict) and len(pval) == 1 and next(iter(pval)) in templating.DIRECTIVES:
                pval = ""
            if isinstance(default, str) and default.startswith("$") and not default.startswith("${"):
                continue  # the default comes from the context; its type depends on the variable
            want = type(default)
            ok = isinstance(pval, want) or (want is float and isinstance(pval, int)) or (want is int and isinstance(pval, float))
            if isinstance(pval, bool) != isinstance(default, bool):
                ok = False
            if not ok:
                problems.append(doc.problem(key + ("params", pname), f"{spec.key} parameter {pname!r} should be {_type_name(default)}, not {_type_name(pval)}"))
        for dkey in ("after", "every"):
            if dkey in st:
                try:
                    span(st[dkey])
                except ValueError as exc:
                    problems.append(doc.problem(key + (dkey,), f"steps/{i}/{dkey}: {exc}"))
        if "actor" in st:
            problems += _check_actor(doc, st["actor"], key + ("actor",), b, var_names, scope)
        for section in ("params", "fields"):
            for ekey, expr in templating.expressions(st.get(section), key + (section,)):
                why = templating.static_check(expr, b.view, var_names, scope)
                if why:
                    problems.append(doc.problem(ekey, why))
    return problems


# ----------------------------------------------------------------------------- actors

def _resolve_actor(actor: dict[str, Any], b: Baseline, scope: templating.Scope,
                   rng: random.Random) -> tuple[Principal, str]:
    """The principal a scenario actor names, and the client it calls through."""
    spec = templating.render(dict(actor), scope)
    kind = next(k for k in ACTOR_KINDS if k in spec)
    ref = spec[kind]
    client = spec.get("client", DEFAULT_CLIENT[kind])
    if kind == "person" and isinstance(ref, dict):
        principal = _joiner(ref, b, rng)
    elif kind == "person":
        pool = b.principals["people"]
        if ref == "privileged":
            pool = [p for p in pool if p.attrs.get("privileged")] or pool
        elif ref == "unprivileged":
            pool = [p for p in pool if not p.attrs.get("privileged")] or pool
        elif ref != "any":
            pool = [p for p in pool if p.name == ref]
        principal = rng.choice(pool)
    elif kind == "pipeline":
        pool = [p for p in b.principals["pipelines"] if ref == "any" or p.name == ref]
        if spec.get("session"):
            pool = [p for p in pool if p.attrs["session"] == spec["session"]] or pool
        principal = pool[0] if spec.get("session") else rng.choice(pool)
    elif kind == "execution_role":
        principal = next(p for p in b.principals["execution_roles"] if ref in (p.attrs["key"], p.name))
    elif kind == "service":
        principal = next(p for p in b.principals["services"] if p.name == ref)
    elif kind == "break_glass":
        principal = b.principals["break_glass"][0]
    else:
        principal = _new_iam_user(ref if isinstance(ref, dict) else {"name": str(ref)}, b, rng)
    if spec.get("source_ip") or spec.get("user_agent"):
        principal = Principal(kind=principal.kind, name=principal.name, identity=principal.identity, arn=principal.arn,
                              clients=principal.clients, ips=[spec["source_ip"]] if spec.get("source_ip") else principal.ips,
                              service_host=principal.service_host, weight=principal.weight,
                              attrs=dict(principal.attrs, user_agent=spec.get("user_agent")))
    return principal, client


def _joiner(ref: dict[str, Any], b: Baseline, rng: random.Random) -> Principal:
    """A person the baseline does not have: a new member of an IAM Identity Center permission
    set, whose session is ``AWSReservedSSO_<set>_<suffix>/<email>`` like the team's.

    Why: a first-seen scenario ("this principal never passed that role") only holds its
    premise in an evaluation day holding other scenarios if its person is drawn fresh; a
    person of the baseline's pool may already have done the act in another scenario.
    """
    email = str(ref["email"]).lower()
    team = next(p for p in b.principals["people"] if p.attrs["permission_set"] == ref["permission_set"])
    key = ids.key_id(rng, "ASIA")
    identity: dict[str, dict[str, Any]] = {}
    for account, ident in team.identity.items():
        issuer = ident["sessionContext"]["sessionIssuer"]
        identity[account] = {**copy.deepcopy(ident), "principalId": f"{issuer['principalId']}:{email}",
                             "arn": f"arn:aws:sts::{account}:assumed-role/{issuer['userName']}/{email}",
                             "accessKeyId": key}
    first = b.accounts[0]
    attrs = dict(team.attrs, email=email, name=email, session_arn=identity[first]["arn"])
    return Principal(kind="people", name=email, identity=identity, arn={a: i["arn"] for a, i in identity.items()},
                     clients=team.clients, ips=team.ips, weight=team.weight, attrs=attrs)


def _new_iam_user(u: dict[str, Any], b: Baseline, rng: random.Random) -> Principal:
    name = str(u["name"])
    uid = str(u.get("principal_id") or ids.key_id(rng, "AIDA", 17))
    key = str(u.get("access_key") or ids.key_id(rng, "AKIA"))
    identity = {a: {"type": "IAMUser", "principalId": uid, "arn": f"arn:aws:iam::{a}:user/{name}", "accountId": a,
                    "accessKeyId": key, "userName": name} for a in b.accounts}
    return Principal(kind="iam_user", name=name, identity=identity, arn={a: identity[a]["arn"] for a in b.accounts},
                     clients={"cli": 1.0}, ips=[str(u.get("source_ip") or "203.0.113.250")],
                     attrs={"user": name, "access_key": key})


def _actor_view(p: Principal, account: str, session: ActorSession | None = None) -> dict[str, Any]:
    ident = p.identity[account]
    issuer = ident.get("sessionContext", {}).get("sessionIssuer", {}).get("arn")
    ip = session.ip if session is not None and session.ip else (p.ips[0] if p.ips else (p.service_host or ""))
    agent = p.attrs.get("user_agent") or (session.agent if session is not None else None) or ""
    return {"arn": p.arn.get(account, ""), "name": p.name, "account": account, "role_arn": issuer or p.attrs.get("role_arn", ""),
            "source_ip": ip, "access_key": ident.get("accessKeyId", ""), "user_agent": agent}


@dataclass
class ActorSession:
    """One actor's session in a scenario instance: it keeps its start, source IP and user agent
    across the steps (a step that sets ``source_ip``, ``user_agent`` or another client says
    otherwise). ``agent`` is None where the agent depends on the call (the CLI names its command;
    the console's S3 pages use their own client)."""

    start: float
    ip: str | None
    agent: str | None


def _session_key(p: Principal, client: str) -> tuple[str, str, str, str, str]:
    return (p.kind, p.name, str(p.attrs.get("session", "")), client, ",".join(p.ips[:1]))


def _open_session(p: Principal, client: str, spec: catalog.EventSpec, rng: random.Random, start: float) -> ActorSession:
    ip = None if client == "service" else (p.ips[0] if len(p.ips) == 1 else (rng.choice(p.ips) if p.ips else None))
    agent: str | None = None
    if p.attrs.get("user_agent"):
        agent = p.attrs["user_agent"]
    elif client in ("sdk", "vpc"):
        agent = user_agent(spec, p, client, rng)
    elif client == "console" and p.kind in ("people", "break_glass", "iam_user"):
        agent = console_browser(p)
    return ActorSession(start, ip, agent)


# ----------------------------------------------------------------------------- rendering

@dataclass
class RenderedEvent:
    record: dict[str, Any]
    step: str
    epoch: float
    index: int = 0  # the step's position in ``steps`` (for located errors)


def render_events(baseline: Baseline, scenario: Scenario, at: dt.datetime, seed: int, instance: int = 1) -> list[RenderedEvent]:
    """One scenario instance, with the step each record came from."""
    rng = random.Random(f"scenario:{scenario.name}:{seed}:{instance}")
    d = scenario.data
    scope = templating.Scope(baseline=baseline.view, rng=rng, locale=baseline.data["faker"].get("locale", "en_US"))
    for name, value in (d.get("vars") or {}).items():
        scope.vars[name] = templating.render(value, scope)
    account = str(templating.render(d.get("account"), scope) or baseline.accounts[0])
    if account not in baseline.accounts:
        raise SmguardError(scenario.located.problem(("account",), f"account {account!r} is not one of the baseline's ({', '.join(baseline.accounts)})"))
    region = str(templating.render(d.get("region"), scope) or baseline.regions[0])
    base_actor, base_client = _resolve_actor(d["actor"], baseline, scope, rng)
    t = at.astimezone(dt.UTC).timestamp()
    out: list[RenderedEvent] = []
    session_start = t - rng.randrange(60, 1800)
    sessions: dict[tuple[str, str, str, str, str], ActorSession] = {}
    starts: dict[tuple[str, ...], float] = {}
    for i, st in enumerate(d["steps"]):
        spec = catalog.lookup(st["call"])
        assert spec is not None
        lo, hi = span(st.get("after", "0s"))
        t += rng.uniform(lo, hi) if i or lo or hi else 0.0
        for rep in range(int(st.get("repeat", 1))):
            if rep:
                elo, ehi = span(st.get("every", "1s"))
                t += rng.uniform(elo, ehi)
            scope.rep = rep
            principal, client = base_actor, base_client
            if "actor" in st:
                principal, client = _resolve_actor(st["actor"], baseline, scope, rng)
            if st.get("client"):
                client = st["client"]
            skey = _session_key(principal, client)
            sess = sessions.get(skey)
            if sess is None:
                # the scenario's first actor uses the instance's session start; actors that
                # appear later started their own session a little before their first call.
                # The same credentials used from elsewhere (another IP or client) keep their start.
                pkey = skey[:3]
                if pkey not in starts:
                    starts[pkey] = session_start if not starts else t - rng.randrange(60, 1800)
                sess = sessions[skey] = _open_session(principal, client, spec, rng, starts[pkey])
            scope.actor = _actor_view(principal, account, sess)
            agent = sess.agent
            if client == "console" and spec.service == "s3" and not principal.attrs.get("user_agent"):
                agent = None  # the console's S3 pages call through their own client (S3Console)
            when = dt.datetime.fromtimestamp(int(t), dt.UTC)
            params = templating.render(st.get("params") or {}, scope)
            for pname, pval in params.items():
                why = param_type_problem(spec.key, pname, pval) if pval is not None else None
                if why:  # a whole-value template rendered to the wrong type (e.g. a list variable)
                    raise SmguardError(scenario.located.problem(("steps", i, "params", pname), why))
            fields = templating.render(st.get("fields") or {}, scope)
            ctx = Ctx(baseline, rng, account, str(templating.render(st.get("region"), scope) or region), principal, when)
            template = spec.request if isinstance(spec.request, dict) else {}
            for var, pname in spec.binds.items():
                if pname in params and params[pname] is not None:
                    ctx[var] = params[pname]
            for pname, pval in params.items():
                # context variables named after a parameter keep the response consistent
                tv = template.get(pname)
                if isinstance(tv, str) and tv.startswith("$") and not tv.startswith("${") and pval is not None:
                    ctx[tv[1:]] = pval
            err = st.get("error")
            error: Any = None
            if isinstance(err, dict):
                error = (templating.render(err.get("code"), scope), templating.render(err.get("message", ""), scope))
            elif err:
                error = err
            rec = build_record(
                spec, principal, client, ctx, rng,
                event_time=iso(when), event_id=ids.uuid4(rng),
                session_time=iso(dt.datetime.fromtimestamp(int(min(sess.start, t)), dt.UTC)),
                ip=sess.ip, agent=agent,
                error=error, params=params, fields=fields,
            )
            out.append(RenderedEvent(rec, _step_id(st, i), float(int(t)), i))
    return out


def render_scenario(baseline: Baseline, scenario: Scenario, at: dt.datetime, seed: int, instance: int = 1) -> list[dict[str, Any]]:
    """The CloudTrail records of one scenario instance starting at ``at``."""
    return [e.record for e in render_events(baseline, scenario, at, seed, instance)]
