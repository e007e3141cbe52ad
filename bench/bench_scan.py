"""Benchmark: full-pack scan vs. the floor of just reading and parsing the logs.

    .venv/bin/python bench/bench_scan.py [--records 1000000] [--logs FILE] [--all-time]
                                         [--jobs N] [--breakdown]

(a) floor: read the NDJSON file and ``json.loads`` every line, nothing else (measured
    before and after the scans, the faster one kept; the file is read once beforehand so
    every phase reads it from the page cache);
(b) ``smguard scan`` of the whole pack over the same file (schedule replay by default),
    through the real reader, prefilter, field extraction and engine: once with ``--jobs``
    (default: what ``smguard scan`` uses on this machine, 2 with two CPUs: the logs cut
    into two parts by time, one process each, merged) and once in one process. The
    floor is one process; the CPU-time ratio (all processes) is printed too.

Each phase runs in its own process so its peak RSS (``ru_maxrss``) is its own; the
other parts' peak and CPU time are reported too. Another run scans the first
quarter of the file: if peak memory does not grow with file size, the quarter and the
full scan peak at about the same RSS. ``--breakdown`` times each detection's own work
on the quarter file, in one process.

The logs come from ``smguard generate`` (baseline organisation + every scenario), cached
under ``$TMPDIR/smguard-bench``; when the generator is unavailable, synthetic
CloudTrail-like records are written instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS_PER_DAY = 45_000  # what the default baseline produces over weekdays + weekends, conservatively


def default_jobs() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from smguard.cli.scan import default_jobs as jobs

    return jobs()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def phase_floor(path: str, parser: str = "json") -> dict:
    """Read every line and parse it: with the stdlib ``json`` (the floor, comparable across
    sessions) or with ``orjson`` (what the reader now uses where it agrees with json)."""
    t0 = time.perf_counter()
    c0 = _cpu()
    n = 0
    if parser == "orjson":
        import orjson

        loads = orjson.loads
    else:
        loads = json.loads
    with open(path, "rb", buffering=1 << 20) as fh:
        for line in fh:
            if line.strip():
                loads(line)
                n += 1
    return {"records": n, "seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "maxrss_mb": _maxrss_mb()}


def phase_scan(path: str, all_time: bool, jobs: int) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from smguard.model import load_pack
    from smguard.scan import scan, specs_from_pack

    try:
        pack = load_pack(ROOT)
    except Exception:  # a pack mid-edit: scan what is sound
        from smguard.model import usable_pack

        pack, _ = usable_pack(ROOT)
    specs = specs_from_pack(pack)
    t0 = time.perf_counter()
    c0 = _cpu()
    res = scan(specs, [path], pack.context(), index=pack.settings.index, sourcetype=pack.settings.sourcetype,
               all_time=all_time, now=time.time(), jobs=jobs)
    secs = time.perf_counter() - t0
    parts = resource.getrusage(resource.RUSAGE_CHILDREN)  # the other parts' processes, with --jobs >= 2
    return {"records": res.events, "seconds": secs, "cpu": _cpu() - c0 + parts.ru_utime + parts.ru_stime,
            "maxrss_mb": _maxrss_mb(), "parts_maxrss_mb": parts.ru_maxrss / 1024.0, "jobs": jobs,
            "detections": len(specs),
            "alerts": sum(len(a.results) for a in res.alerts), "bad": res.report.bad}


def phase_breakdown(path: str, all_time: bool) -> dict:
    """Where the scan's time goes, per detection (feed during the pass + its replay)."""
    sys.path.insert(0, str(ROOT / "src"))
    from smguard.model import usable_pack
    from smguard.scan import runner, specs_from_pack

    pack, _ = usable_pack(ROOT)
    specs = specs_from_pack(pack)
    spent: dict[str, float] = {}
    fed: dict[str, int] = {}
    inside = [False]  # feed and feed_rest call feed_matched: time the outermost call only

    def timed(method, counts: bool):  # noqa: ANN001, ANN202
        def wrapper(self, *args, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
            if inside[0]:
                return method(self, *args, **kw)
            inside[0] = True
            t = time.perf_counter()
            try:
                return method(self, *args, **kw)
            finally:
                inside[0] = False
                spent[self.spec.name] = spent.get(self.spec.name, 0.0) + time.perf_counter() - t
                if counts:
                    fed[self.spec.name] = fed.get(self.spec.name, 0) + 1
        return wrapper

    for name in ("feed", "feed_rest", "feed_matched"):  # every way the pass feeds a plan an event
        setattr(runner._Plan, name, timed(getattr(runner._Plan, name), True))
    runner._Plan.advance = timed(runner._Plan.advance, False)
    t0 = time.perf_counter()
    res = runner.scan(specs, [path], pack.context(), index=pack.settings.index, sourcetype=pack.settings.sourcetype,
                      all_time=all_time, now=time.time())
    total = time.perf_counter() - t0
    top = sorted(spent.items(), key=lambda kv: -kv[1])[:8]
    return {"records": res.events, "seconds": total, "engine_seconds": sum(spent.values()),
            "top": [[name, secs, fed.get(name, 0)] for name, secs in top]}


def _synthesize(path: Path, n: int) -> None:
    rnd = random.Random(1)
    names = ["DescribeTrainingJob", "ListNotebookInstances", "CreateTrainingJob", "GetObject", "AssumeRole",
             "CreateNotebookInstance", "DescribeEndpoint", "PutObject", "StopLogging", "CreateModel"]
    t = 1_795_000_000
    with open(path, "w") as fh:
        for i in range(n):
            t += rnd.randint(0, 2)
            name = rnd.choice(names)
            rec = {
                "eventVersion": "1.11", "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                "eventSource": "sagemaker.amazonaws.com", "eventName": name, "awsRegion": "eu-west-1",
                "sourceIPAddress": f"10.0.{i % 250}.{i % 200}", "userAgent": "Boto3/1.35.60",
                "userIdentity": {"type": "AssumedRole", "principalId": f"AROA:{i % 50}",
                                 "arn": f"arn:aws:sts::111122223333:assumed-role/Role{i % 50}/s",
                                 "accountId": "111122223333"},
                "requestParameters": {"notebookInstanceName": f"nb-{i % 300}", "instanceType": "ml.t3.medium"},
                "responseElements": None, "requestID": str(uuid.UUID(int=rnd.getrandbits(128))),
                "eventID": str(uuid.UUID(int=rnd.getrandbits(128))), "readOnly": name.startswith(("Describe", "List")),
                "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "111122223333",
                "eventCategory": "Management",
            }
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")


def ensure_logs(n: int) -> Path:
    cache = Path(tempfile.gettempdir()) / "smguard-bench"
    cache.mkdir(exist_ok=True)
    out = cache / f"cloudtrail-{n}.ndjson"
    if out.exists():
        return out
    full = cache / f"generated-{n}.ndjson"
    days = max(1, math.ceil(n / RECORDS_PER_DAY * 1.05))
    cmd = [sys.executable, "-m", "smguard", "--pack", str(ROOT), "generate", "--days", str(days), "--all-scenarios",
           "--out", str(full), "--no-progress"]
    print(f"generating ~{n:,} records: {' '.join(cmd[2:])}", file=sys.stderr)
    ok = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}).returncode == 0
    if ok and full.exists():
        with open(full, "rb") as src, open(out, "wb") as dst:
            for i, line in enumerate(src):
                if i >= n:
                    break
                dst.write(line)
        full.unlink()
    else:
        print("generator unavailable: synthesizing records", file=sys.stderr)
        _synthesize(out, n)
    return out


def quarter(path: Path) -> Path:
    q = path.with_suffix(".quarter.ndjson")
    if not q.exists():
        lines = sum(1 for _ in open(path, "rb"))
        with open(path, "rb") as src, open(q, "wb") as dst:
            for i, line in enumerate(src):
                if i >= lines // 4:
                    break
                dst.write(line)
    return q


def _warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(8 << 20):
            pass


def _child(phase: str, path: Path, all_time: bool, jobs: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--logs", str(path), "--jobs", str(jobs)] + (
        ["--all-time"] if all_time else [])
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--logs", help="use this NDJSON file instead of generating one")
    ap.add_argument("--all-time", action="store_true", help="scan with --all-time instead of schedule replay")
    ap.add_argument("--breakdown", action="store_true", help="also time each detection (on the quarter file)")
    ap.add_argument("--jobs", type=int, default=default_jobs(),
                    help="processes for the scan, as `smguard scan --jobs` (default: %(default)s here); "
                         "a one-process scan is measured too")
    ap.add_argument("--phase", choices=["floor", "floor-orjson", "scan", "breakdown"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        if args.phase in ("floor", "floor-orjson"):
            res = phase_floor(args.logs, "orjson" if args.phase == "floor-orjson" else "json")
        elif args.phase == "breakdown":
            res = phase_breakdown(args.logs, args.all_time)
        else:
            res = phase_scan(args.logs, args.all_time, args.jobs)
        res["load"] = os.getloadavg()[0]  # the machine may be shared: CPU seconds compare, wall times less
        print(json.dumps(res))
        return 0
    path = Path(args.logs) if args.logs else ensure_logs(args.records)
    size_mb = path.stat().st_size / 1e6
    _warm(path)  # every phase reads from the page cache, the first as much as the last
    a = _child("floor", path, args.all_time)
    b = _child("scan", path, args.all_time, args.jobs)
    b1 = _child("scan", path, args.all_time, 1) if args.jobs != 1 else b
    a2 = _child("floor", path, args.all_time)
    a = min(a, a2, key=lambda r: r["seconds"])  # the faster floor: the ratio is not flattered by a slow one
    try:
        ao = _child("floor-orjson", path, args.all_time)
    except SystemExit:
        ao = None  # orjson not installed
    qb = _child("scan", quarter(path), args.all_time, args.jobs)
    mode = "all-time" if args.all_time else "schedule replay"
    print(f"logs: {path} ({a['records']:,} records, {size_mb:,.0f} MB)")
    print(f"(a) floor, read + json.loads:  {a['seconds']:7.2f} s  {a['records'] / a['seconds']:>10,.0f} records/s  "
          f"CPU {a['cpu']:.1f} s  peak RSS {a['maxrss_mb']:,.0f} MB  (load {a['load']:.1f})")
    if ao is not None:
        print(f"    (orjson floor, for comparison: {ao['seconds']:7.2f} s, CPU {ao['cpu']:.1f} s; "
              f"the ratios below stay against the stdlib json floor)")
    for run in ([b, b1] if b1 is not b else [b]):
        procs = f"{run['jobs']} parts, one process each" if run["jobs"] >= 2 else "one process"
        print(f"(b) full-pack scan ({run['detections']} detections, {mode}, {procs}): {run['seconds']:7.2f} s  "
              f"{run['records'] / run['seconds']:>10,.0f} records/s  peak RSS {run['maxrss_mb']:,.0f} MB"
              + (f" + {run['parts_maxrss_mb']:,.0f} MB per other part" if run["jobs"] >= 2 else "")
              + f"  ({run['alerts']} alert results, {run['bad']} bad records; load {run['load']:.1f})")
        goal = 3 if run["jobs"] >= 2 else 4
        print(f"    ratio b/a: {run['seconds'] / a['seconds']:.2f}  (goal <= {goal}); CPU time {run['cpu']:.1f} s / "
              f"{a['cpu']:.1f} s = {run['cpu'] / a['cpu']:.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"memory vs size: quarter file peak RSS {qb['maxrss_mb']:,.0f} MB, full file {b['maxrss_mb']:,.0f} MB")
    if args.breakdown:
        bd = _child("breakdown", quarter(path), args.all_time)
        print(f"breakdown on the quarter file ({bd['records']:,} records, {bd['seconds']:.1f} s, "
              f"{bd['engine_seconds']:.1f} s in detections' own work):")
        for name, secs, n in bd["top"]:
            print(f"  {secs:7.2f} s  {n:>9,} events fed  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
