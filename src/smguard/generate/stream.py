"""The baseline as a stream of JSON lines, fast.

Building a million records as dicts and serialising each costs ~15 µs a record. Instead
each (principal, event, client, region) combination becomes a *prototype*: a record built
once through :func:`~smguard.generate.records.build_record` with sentinel strings for the
few fields that vary per call (time, ids, source IP, session start), serialised once, and
turned into a ``%``-format string. Emitting a record is then a handful of random draws and
one ``fmt % values``. Many prototypes per principal (different resources, regions, clients)
keep the output varied.

Activity follows the baseline's rhythm: per hour, each kind of principal gets a Poisson
count scaled by the working-day curve (local time), a weekend factor and a flat share
(services and nightly jobs keep going at night). Failures are prototypes of their own,
weighted by ``failure_rate``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import pickle
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from smguard.generate import catalog, ids
from smguard.generate.model import Baseline, Principal
from smguard.generate.records import SDK_BY_KIND, Ctx, build_record, default_failure_kind, iso, mdy
from smguard.memo import LRU

_SLOT = re.compile(r"@@([a-z]+)@@")
# How many prototypes per (principal, event), by kind: more where calls vary more.
VARIANTS = {"people": 3, "pipelines": 3, "execution_roles": 8, "services": 2, "break_glass": 2}
_MMSS = [f"{s // 60:02d}:{s % 60:02d}Z" for s in range(3600)]


# Per-record values, in this order; a prototype picks the ones its JSON needs.
SLOTS = ("time", "eid", "session", "rid", "ip", "exp", "mdy", "ua")

# Sessions. A session is a principal plus its session start (``creationDate``); it keeps one
# source IP and one user agent for its life. Per hour: people and the break-glass user have
# one session whose egress IP sticks across hours and changes with this probability per hour
# (a proxy egress switch, a new network); pipelines run one job session per hour from one CI
# runner; execution roles run several concurrent sessions (jobs, notebooks, endpoints), each
# from its own VPC address with one SDK (Python or Java, never both).
IP_CHANGE_PER_HOUR = 0.05
EXEC_SESSIONS_PER_HOUR = 4


@dataclass
class Proto:
    """One pre-serialised record shape with positional ``%s`` holes.

    ``pick`` takes the per-record values tuple (in :data:`SLOTS` order) to the tuple of
    values ``fmt`` needs, in its order.
    """

    fmt: str
    account: str
    region: str
    ips: list[str] | None
    s3_rid: bool
    needs_exp: bool
    kind: str
    pick: Callable[[tuple[str, ...]], tuple[str, ...]]
    owner: int = 0  # index of the session owner (see :class:`Owner`)


@dataclass
class Owner:
    """Who a prototype's sessions belong to: one principal, calling through the network
    (``net``: an IP from ``ips``) or through a service (``svc``: the service's name)."""

    principal: Principal
    via: str
    ips: list[str]
    agents: list[str]


@dataclass
class Pool:
    protos: list[Proto]
    cum: list[float]
    owners: list[Owner] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.cum[-1] if self.cum else 0.0


def _to_fmt(rec: dict) -> tuple[str, Callable[[tuple[str, ...]], tuple[str, ...]], set[str]]:
    text = json.dumps(rec, separators=(",", ":"), ensure_ascii=False).replace("%", "%%")
    order = [m.group(1) for m in _SLOT.finditer(text)]
    fmt = _SLOT.sub("%s", text)
    idx = [SLOTS.index(name) for name in order]
    pick = operator.itemgetter(*idx) if len(idx) > 1 else (lambda v, i=idx[0]: (v[i],))
    return fmt, pick, set(order)


def _proto(baseline: Baseline, principal: Principal, call: str, client: str, account: str, region: str,
           rng: random.Random, error: str | None, owners: dict[tuple[str, str, str], int] | None = None,
           owner_list: list[Owner] | None = None) -> Proto:
    spec = catalog.lookup(call)
    assert spec is not None
    ctx = Ctx(baseline, rng, account, region, principal, None, date_mdy="@@mdy@@", expiration_mdy="@@exp@@")
    pooled = client != "service" and bool(principal.ips)
    # An execution role's SDK is a property of the session (the job's container), not of the call.
    session_agent = principal.kind == "execution_roles" and client in ("sdk", "vpc")
    rec = build_record(
        spec, principal, client, ctx, rng,
        event_time="@@time@@", event_id="@@eid@@", request_id="@@rid@@", session_time="@@session@@",
        ip="@@ip@@" if pooled else None, error=error,
    )
    if session_agent:
        # drawn per session instead (build_record's own pick is kept so later prototypes stay as they were)
        rec["userAgent"] = "@@ua@@"
    fmt, pick, used = _to_fmt(rec)
    owner = 0
    if owners is not None and owner_list is not None:
        via = "net" if pooled else "svc"
        key = (principal.kind, principal.name + "/" + str(principal.attrs.get("session", "")), via)
        if key not in owners:
            owners[key] = len(owner_list)
            agents = list(SDK_BY_KIND.get(principal.kind, [])) if principal.kind == "execution_roles" else []
            owner_list.append(Owner(principal, via, list(principal.ips) if pooled else [], agents))
        owner = owners[key]
    return Proto(fmt=fmt, account=account, region=rec["awsRegion"], ips=principal.ips if pooled else None,
                 s3_rid=spec.request_id == "s3", needs_exp=bool(used & {"exp", "mdy"}), kind=principal.kind, pick=pick,
                 owner=owner)


def _choose(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


_POOLS: LRU[dict[str, Pool]] = LRU(4)  # a seed's pools are a few MB; a process rarely mixes more seeds


def build_pools(baseline: Baseline, seed: int) -> dict[str, Pool]:
    """Prototypes per kind of principal, with cumulative weights for ``random.choices``.

    The session owners of the prototypes are in ``pools[OWNERS].owners`` (see :func:`owners_of`).
    They are a pure function of the baseline's data and the seed, and nothing changes
    them after they are built (generation only reads them), so a process that generates
    several times with one seed (``evaluate``'s history and scored days, the test suite)
    builds them once (0.2 s each).
    """
    key = (pickle.dumps(baseline.data, protocol=pickle.HIGHEST_PROTOCOL), seed)
    pools = _POOLS.get(key)
    return pools if pools is not None else _POOLS.put(key, _build_pools(baseline, seed))


def _build_pools(baseline: Baseline, seed: int) -> dict[str, Pool]:
    rng = random.Random(f"protos:{seed}")
    owners: dict[tuple[str, str, str], int] = {}
    owner_list: list[Owner] = []
    d = baseline.data
    fail_rate = float(d["activity"]["failure_rate"])
    pools: dict[str, Pool] = {}
    for kind in ("people", "pipelines", "execution_roles", "services", "break_glass"):
        protos: list[Proto] = []
        weights: list[float] = []
        principals = baseline.principals.get(kind, [])
        total_w = sum(p.weight for p in principals) or 1.0
        for p in principals:
            mix = p.attrs["mix"] if kind == "services" else d["activity"]["mix"].get(kind, {})
            mix_total = sum(mix.values()) or 1.0
            share = p.weight / total_w
            if kind == "services":
                share = 1.0 / len(principals)
            for call, w in mix.items():
                if w <= 0:
                    continue
                spec = catalog.lookup(call)
                assert spec is not None
                n = VARIANTS[kind]
                base = share * (w / mix_total) / n
                for _ in range(n):
                    account = rng.choices(baseline.accounts, weights=baseline.account_weights)[0]
                    region = rng.choices(baseline.regions, weights=baseline.region_weights)[0]
                    client = "console" if spec.key == "signin:ConsoleLogin" else _choose(rng, p.clients)
                    if kind == "execution_roles" and spec.service not in d["network"]["vpc_endpoints"] and client == "vpc":
                        client = "service"
                    protos.append(_proto(baseline, p, call, client, account, region, rng, None, owners, owner_list))
                    weights.append(base * (1.0 - fail_rate))
                # one failing shape per (principal, event); sign-in through SSO fails at the IdP, not here
                if fail_rate > 0 and spec.key != "signin:ConsoleLogin" and kind != "services":
                    account = rng.choices(baseline.accounts, weights=baseline.account_weights)[0]
                    region = rng.choices(baseline.regions, weights=baseline.region_weights)[0]
                    client = _choose(rng, p.clients)
                    protos.append(_proto(baseline, p, call, client, account, region, rng, default_failure_kind(spec, rng),
                                         owners, owner_list))
                    weights.append(share * (w / mix_total) * fail_rate)
        cum: list[float] = []
        acc = 0.0
        for w in weights:
            acc += w
            cum.append(acc)
        pools[kind] = Pool(protos, cum)
    pools[OWNERS] = Pool([], [], owner_list)
    return pools


OWNERS = "_owners"


def owners_of(pools: dict[str, Pool]) -> list[Owner]:
    return pools[OWNERS].owners if OWNERS in pools else []


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def hour_rate(baseline: Baseline, kind: str, hour_start: dt.datetime) -> float:
    """Expected calls by ``kind`` in the hour starting at ``hour_start`` (UTC)."""
    a = baseline.data["activity"]
    peak = float(a["per_hour"].get(kind, 0.0))
    local = hour_start + dt.timedelta(hours=baseline.data.get("utc_offset_hours", 0))
    flat = float(a["flat"].get(kind, 0.0))
    curve = a["working_day"][local.hour]
    rate = peak * (flat + (1.0 - flat) * curve)
    if local.weekday() >= 5:
        rate *= float(a["weekend"].get(kind, 1.0))
    return rate


Session = tuple[str, str, str]  # (creationDate, source IP, user agent)


def hour_sessions(owners: list[Owner], hour_start: dt.datetime, rng: random.Random,
                  sticky: dict[int, str]) -> list[tuple[Session, ...]]:
    """The sessions each owner has open in the hour starting at ``hour_start``.

    ``sticky`` carries each person's egress IP from hour to hour (updated in place).
    """
    start = iso(hour_start)
    plan: list[tuple[Session, ...]] = []
    taken: set[tuple[str, int]] = set()  # a role's sessions never share a start
    for i, o in enumerate(owners):
        kind = o.principal.kind
        if kind == "execution_roles":
            sessions = []
            for _ in range(EXEC_SESSIONS_PER_HOUR):
                # started within the hour before: never after any call of this hour, and
                # disjoint from the starts of the previous hour's sessions
                back = rng.randrange(0, 3600)
                while (o.principal.name, back) in taken:
                    back = rng.randrange(0, 3600)
                taken.add((o.principal.name, back))
                begun = iso(hour_start - dt.timedelta(seconds=back))
                ip = rng.choice(o.ips) if o.ips else ""
                agent = rng.choice(o.agents) if o.agents else ""
                sessions.append((begun, ip, agent))
            plan.append(tuple(sessions))
            continue
        ip = ""
        if o.ips:
            if kind in ("people", "break_glass"):
                ip = sticky.get(i, "")
                if not ip or rng.random() < IP_CHANGE_PER_HOUR:
                    ip = rng.choice(o.ips)
                    sticky[i] = ip
            else:
                ip = rng.choice(o.ips)
        plan.append(((start, ip, ""),))
    return plan


def hour_lines(baseline: Baseline, pools: dict[str, Pool], hour_start: dt.datetime,
               rng: random.Random, sticky: dict[int, str] | None = None,
               srng: random.Random | None = None) -> list[tuple[int, str, Proto]]:
    """All baseline records of one hour as ``(epoch_second, json_line, proto)``, in time order.

    This is the hot loop: per record a few random draws, two ids and one ``fmt % values``.
    Sessions are planned with their own generator ``srng``, so planning them does not move
    which calls the baseline makes and when.
    """
    srng = srng or random.Random(f"sessions:{hour_start.isoformat()}")
    plan = hour_sessions(owners_of(pools), hour_start, srng, {} if sticky is None else sticky)
    srand = srng.random
    chosen: list[Proto] = []
    for kind, pool in pools.items():
        if not pool.protos:
            continue
        n = _poisson(rng, hour_rate(baseline, kind, hour_start))
        if n:
            chosen.extend(rng.choices(pool.protos, cum_weights=pool.cum, k=n))
    if not chosen:
        return []
    rng.shuffle(chosen)
    rand = rng.random
    secs = sorted([int(rand() * 3600) for _ in range(len(chosen))])
    base = int(hour_start.timestamp())
    prefix = hour_start.strftime("%Y-%m-%dT%H:")
    out = []
    uuid4 = ids.uuid4
    bits = rng.getrandbits
    mmss = _MMSS
    for s, proto in zip(secs, chosen, strict=True):
        rid = f"{bits(64):016X}" if proto.s3_rid else uuid4(rng)
        open_ = plan[proto.owner]
        # a network call draws from the main stream, as the per-call IP pick it replaces did
        r = rand() if proto.ips is not None else srand()
        se = open_[int(r * len(open_))]
        if proto.needs_exp:
            t = hour_start + dt.timedelta(seconds=s)
            exp, when = mdy(t + dt.timedelta(hours=1)), mdy(t)
        else:
            exp = when = ""
        values = (prefix + mmss[s], uuid4(rng), se[0], rid, se[1], exp, when, se[2])
        out.append((base + s, proto.fmt % proto.pick(values), proto))
    return out


def iter_lines(baseline: Baseline, start: dt.datetime, hours: int, seed: int,
               pools: dict[str, Pool] | None = None) -> Iterator[list[tuple[int, str, Proto]]]:
    """Hour by hour, the baseline's records; memory holds one hour at a time."""
    pools = pools or build_pools(baseline, seed)
    rng = random.Random(f"baseline:{seed}")
    srng = random.Random(f"sessions:{seed}")
    sticky: dict[int, str] = {}
    start = start.replace(minute=0, second=0, microsecond=0)
    for h in range(hours):
        yield hour_lines(baseline, pools, start + dt.timedelta(hours=h), rng, sticky, srng)
