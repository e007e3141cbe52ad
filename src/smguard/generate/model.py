"""The baseline organisation: loading ``generators/baseline.yml`` and expanding it.

``load_baseline`` validates the file (JSON Schema, then meaning: event names known to the
catalog, CIDRs that parse, sane weights) and raises one :class:`SmguardError` listing every
located problem before anything is generated. The result is a :class:`Baseline` holding the
principals (people through IAM Identity Center, pipelines, execution roles, services, the
break-glass user) with everything needed to write their ``userIdentity`` blocks.

faker is used only here, once, to name people: pools are built up front so the per-record
path never touches faker (it is slow and would dominate the generator's run time).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smguard import jsonschemas, yamlio
from smguard.errors import Problem, SmguardError
from smguard.generate import catalog, ids

KINDS = ("people", "pipelines", "execution_roles", "services", "break_glass")
CLIENTS = ("console", "cli", "sdk", "vpc", "service")


@dataclass
class Principal:
    """One caller: what CloudTrail writes in ``userIdentity`` plus where it calls from.

    ``identity`` maps an account id to the ``userIdentity`` dict of that principal in that
    account; ``creationDate`` holds the placeholder ``"$session_time"``.
    """

    kind: str
    name: str
    identity: dict[str, dict[str, Any]]
    arn: dict[str, str]
    clients: dict[str, float]
    ips: list[str] = field(default_factory=list)
    service_host: str | None = None
    weight: float = 1.0
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Baseline:
    """The loaded, expanded organisation."""

    path: str
    data: dict[str, Any]
    located: yamlio.Located
    accounts: list[str]
    account_weights: list[float]
    regions: list[str]
    region_weights: list[float]
    principals: dict[str, list[Principal]]
    proxy_ips: list[str]
    ci_ips: list[str]
    private_ips: list[str]
    people: list[dict[str, Any]]

    @property
    def view(self) -> dict[str, Any]:
        """What ``{{ baseline.… }}`` in a scenario can reach: the file plus expanded people."""
        v = dict(self.data)
        v["people"] = self.people
        v["account"] = self.accounts[0]
        v["region"] = self.regions[0]
        return v

    def principal(self, kind: str, name: str | None = None) -> Principal | None:
        for p in self.principals.get(kind, []):
            if name is None or p.name == name or p.attrs.get("key") == name:
                return p
        return None


def _cidr_pool(cidrs: list[str], rng: random.Random, n: int) -> list[str]:
    nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    out = []
    for _ in range(n):
        net = rng.choice(nets)
        size = net.num_addresses
        off = rng.randrange(1, size - 1) if size > 2 else 0
        out.append(str(net.network_address + off))
    return out


def _assumed_role(account: str, role: str, path: str, session: str, role_id: str, key: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{account}:role{path}{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "$session_time", "mfaAuthenticated": "false"},
        },
    }


def _check_semantics(doc: yamlio.Located) -> list[Problem]:
    d = doc.data
    problems: list[Problem] = []
    for net_key in ("proxy_egress", "ci_egress"):
        for i, c in enumerate(d["network"][net_key]):
            try:
                ipaddress.ip_network(c, strict=False)
            except ValueError as exc:
                problems.append(doc.problem(["network", net_key, i], f"not a CIDR range: {exc}"))
    try:
        ipaddress.ip_network(d["network"]["vpc"]["cidr"], strict=False)
    except ValueError as exc:
        problems.append(doc.problem(["network", "vpc", "cidr"], f"not a CIDR range: {exc}"))
    if len(d["regions"].get("weights", d["regions"]["approved"])) != len(d["regions"]["approved"]):
        problems.append(doc.problem(["regions", "weights"], "needs one weight per approved region"))
    for kind, mix in d["activity"]["mix"].items():
        for call in mix:
            if catalog.lookup(call) is None:
                hint = catalog.suggestions(call)
                extra = f" (did you mean {', '.join(hint)}?)" if hint else ""
                problems.append(doc.problem(["activity", "mix", kind, call], f"unknown event {call!r}{extra}"))
    for i, svc in enumerate(d["services"]):
        for call in svc["mix"]:
            if catalog.lookup(call) is None:
                problems.append(doc.problem(["services", i, "mix", call], f"unknown event {call!r}"))
    for kind, clients in d["activity"]["clients"].items():
        if sum(clients.values()) <= 0:
            problems.append(doc.problem(["activity", "clients", kind], "client weights must add up to more than 0"))
    return problems


def load_baseline(path: str | Path = "generators/baseline.yml") -> Baseline:
    """Load, validate and expand a baseline file; every problem is reported as ``path:line``."""
    doc = yamlio.load(path)
    problems = jsonschemas.check("baseline", doc)
    if not problems:
        problems = _check_semantics(doc)
    if problems:
        raise SmguardError(problems)
    return _expand(doc)


def _expand(doc: yamlio.Located) -> Baseline:
    d = doc.data
    rng = random.Random(d["faker"]["seed"])
    accounts = [a["id"] for a in d["accounts"]]
    acc_w = [float(a.get("weight", 1.0)) for a in d["accounts"]]
    regions = list(d["regions"]["approved"])
    reg_w = [float(w) for w in d["regions"].get("weights", [1.0] * len(regions))]
    clients = d["activity"]["clients"]
    proxy_ips = _cidr_pool(d["network"]["proxy_egress"], rng, 96)
    ci_ips = _cidr_pool(d["network"]["ci_egress"], rng, 12)
    private_ips = _cidr_pool([d["network"]["vpc"]["cidr"]], rng, 128)
    principals: dict[str, list[Principal]] = {k: [] for k in KINDS}

    # People through IAM Identity Center: names from faker with the file's seed.
    from faker import Faker

    fake = Faker(d["faker"].get("locale", "en_US"))
    fake.seed_instance(d["faker"]["seed"])
    ic = d["identity_center"]
    sets = ic["permission_sets"]
    set_w = [ps["share"] for ps in sets]
    sso_role_ids = {(a, ps["name"]): ids.key_id(rng, "AROA", 17) for a in accounts for ps in sets}
    people: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(people) < ic["people"]:
        first, last = fake.first_name(), fake.last_name()
        email = f"{first}.{last}@{ic['email_domain']}".lower().replace("'", "").replace(" ", "")
        if email in seen:
            continue
        seen.add(email)
        ps = sets[len(people)] if len(people) < len(sets) else rng.choices(sets, weights=set_w)[0]
        role = f"AWSReservedSSO_{ps['name']}_{ps['suffix']}"
        path = f"/aws-reserved/sso.amazonaws.com/{ic['region']}/"
        key = ids.key_id(rng, "ASIA")
        ident = {a: _assumed_role(a, role, path, email, sso_role_ids[(a, ps["name"])], key) for a in accounts}
        person = {
            "email": email,
            "name": f"{first} {last}",
            "permission_set": ps["name"],
            "privileged": bool(ps.get("privileged", False)),
            "role_name": role,
            "role_arn": f"arn:aws:iam::{accounts[0]}:role{path}{role}",
            "session_arn": f"arn:aws:sts::{accounts[0]}:assumed-role/{role}/{email}",
        }
        people.append(person)
        principals["people"].append(
            Principal(
                kind="people",
                name=email,
                identity=ident,
                arn={a: ident[a]["arn"] for a in accounts},
                clients=clients["people"],
                ips=rng.sample(proxy_ips, 6),
                weight=rng.paretovariate(1.6),
                attrs=person,
            )
        )

    for p in d["pipelines"]:
        role_id = ids.key_id(rng, "AROA", 17)
        for session in p["sessions"]:
            key = ids.key_id(rng, "ASIA")
            ident = {a: _assumed_role(a, p["role"], "/", session, role_id, key) for a in accounts}
            principals["pipelines"].append(
                Principal(
                    kind="pipelines",
                    name=p["role"],
                    identity=ident,
                    arn={a: ident[a]["arn"] for a in accounts},
                    clients={c: w for c, w in clients["pipelines"].items() if c in p.get("clients", CLIENTS)} or clients["pipelines"],
                    ips=ci_ips,
                    attrs={"role": p["role"], "session": session, "role_arn": f"arn:aws:iam::{accounts[0]}:role/{p['role']}"},
                )
            )

    for key_name, er in d["execution_roles"].items():
        role_id = ids.key_id(rng, "AROA", 17)
        key = ids.key_id(rng, "ASIA")
        ident = {a: _assumed_role(a, er["role"], er.get("path", "/"), "SageMaker", role_id, key) for a in accounts}
        principals["execution_roles"].append(
            Principal(
                kind="execution_roles",
                name=er["role"],
                identity=ident,
                arn={a: ident[a]["arn"] for a in accounts},
                clients=clients["execution_roles"],
                ips=private_ips,
                service_host="sagemaker.amazonaws.com",
                weight=3.0 if key_name == "training" else 1.0,
                attrs={"key": key_name, "role": er["role"], "role_id": role_id, "role_arn": f"arn:aws:iam::{accounts[0]}:role{er.get('path', '/')}{er['role']}"},
            )
        )

    for svc in d["services"]:
        host = svc["name"]
        if svc.get("role"):
            role_id = ids.key_id(rng, "AROA", 17)
            key = ids.key_id(rng, "ASIA")
            path = f"/aws-service-role/{host}/"
            ident = {a: _assumed_role(a, svc["role"], path, svc.get("session", host.split(".")[0]), role_id, key) for a in accounts}
            for a in accounts:
                ident[a]["invokedBy"] = host
        else:
            ident = {a: {"type": "AWSService", "invokedBy": host} for a in accounts}
        principals["services"].append(
            Principal(
                kind="services",
                name=host,
                identity=ident,
                arn={a: ident[a].get("arn", host) for a in accounts},
                clients={"service": 1.0},
                service_host=host,
                attrs={"mix": svc["mix"]},
            )
        )

    bg = d["break_glass"]["user"]
    uid = ids.key_id(rng, "AIDA", 17)
    bkey = ids.key_id(rng, "AKIA")
    ident = {
        a: {"type": "IAMUser", "principalId": uid, "arn": f"arn:aws:iam::{a}:user/{bg}", "accountId": a, "accessKeyId": bkey, "userName": bg}
        for a in accounts
    }
    principals["break_glass"].append(
        Principal(kind="break_glass", name=bg, identity=ident, arn={a: ident[a]["arn"] for a in accounts},
                  clients=clients["break_glass"], ips=proxy_ips[:4], attrs={"user": bg})
    )
    return Baseline(
        path=doc.path,
        data=d,
        located=doc,
        accounts=accounts,
        account_weights=acc_w,
        regions=regions,
        region_weights=reg_w,
        principals=principals,
        proxy_ips=proxy_ips,
        ci_ips=ci_ips,
        private_ips=private_ips,
        people=people,
    )
