"""Benchmark: 1,000,000 baseline records to NDJSON on one core.

Target: <= 20 s (>= 50k records/s). Prints records/s and peak memory (max RSS), which
must stay flat as the record count grows because generation streams hour by hour.

    .venv/bin/python bench/bench_generate.py [--records N] [--out PATH] [--seed N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smguard.generate import load_baseline  # noqa: E402
from smguard.generate.output import NdjsonSink  # noqa: E402
from smguard.generate.stream import build_pools, iter_lines  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="NDJSON path (default: a temporary file, removed afterwards)")
    args = ap.parse_args()

    c0 = time.process_time()
    t0 = time.perf_counter()
    baseline = load_baseline(ROOT / "generators/baseline.yml")
    pools = build_pools(baseline, args.seed)
    t_setup = time.perf_counter() - t0

    out = args.out or tempfile.mktemp(suffix=".ndjson")
    sink = NdjsonSink(out)
    n = 0
    hours = 0
    t1 = time.perf_counter()
    start = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    for batch in iter_lines(baseline, start, 24 * 365, args.seed, pools):
        hours += 1
        take = batch[: args.records - n]
        sink.write_many(take)
        n += len(take)
        if n >= args.records:
            break
    sink.close()
    t_gen = time.perf_counter() - t1
    cpu = time.process_time() - c0
    size = os.path.getsize(out)
    if not args.out:
        os.remove(out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = t_setup + t_gen
    print(f"records        {n:,}")
    print(f"hours covered  {hours} ({hours / 24:.1f} days)")
    print(f"setup          {t_setup:.2f} s (load baseline, faker names, {sum(len(p.protos) for p in pools.values()):,} prototypes)")
    print(f"generate+write {t_gen:.2f} s")
    print(f"total          {total:.2f} s")
    print(f"records/s      {n / t_gen:,.0f} (generate+write), {n / total:,.0f} (including setup)")
    print(f"output         {size / 1e6:,.0f} MB NDJSON ({size / n:,.0f} bytes/record)")
    print(f"cpu time       {cpu:.2f} s ({n / cpu:,.0f} records per CPU-second; wall > cpu means the core was shared)")
    print(f"load average   {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"peak memory    {peak_mb:,.0f} MB (max RSS)")
    return 0 if total <= 20 else 1


if __name__ == "__main__":
    raise SystemExit(main())
