"""Benchmark: what a scan of N CloudTrail records costs relative to json.loads of the file.

Not collected by pytest. Run: ``.venv/bin/python -m tests.cloudtrail.bench_scan [N] [REPEATS]``.
Measures CPU time (``time.process_time``), best of REPEATS, of
(a) ``json.loads`` of every line, (b) ``iter_records``, (c) ``iter_records`` + ``to_event`` on
every record, (d) ``iter_records`` + ``prefilter_values`` with ``to_event`` only for the
1 in 11 records whose eventName matches. Results are noted in docs/cloudtrail.md.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import time
from pathlib import Path

from smguard.cloudtrail.fields import prefilter_values, to_event
from smguard.cloudtrail.reader import iter_records

from .samples import ALL_VARIANTS


def main(n: int = 30_000, repeats: int = 5) -> None:
    recs = list(ALL_VARIANTS.values())
    path = Path(tempfile.mkdtemp()) / "bench.ndjson"
    with open(path, "w") as fh:
        for i in range(n):
            r = copy.deepcopy(recs[i % len(recs)])
            r["eventID"] = f"{i:08x}-0000-4000-8000-000000000000"
            fh.write(json.dumps(r) + "\n")

    def loads() -> None:
        with open(path) as fh:
            for line in fh:
                json.loads(line)

    def read() -> None:
        for _ in iter_records(path):
            pass

    def full() -> None:
        for lr in iter_records(path):
            to_event(lr)

    def prefiltered() -> None:
        for lr in iter_records(path):
            if prefilter_values(lr.record).get("eventName") == "CreateTrainingJob":
                to_event(lr)

    best: dict[str, float] = {}
    for _ in range(repeats):
        for name, fn in (("loads", loads), ("read", read), ("full", full), ("pre", prefiltered)):
            start = time.process_time()
            fn()
            best[name] = min(best.get(name, float("inf")), time.process_time() - start)
    base = best["loads"]
    print(
        f"N={n} best of {repeats} (CPU time): json.loads {base / n * 1e6:.1f} us/rec | "
        f"reader {best['read'] / base:.2f}x | reader+to_event {best['full'] / base:.2f}x "
        f"({(best['full'] - best['read']) / n * 1e6:.1f} us/rec) | "
        f"reader+prefilter (1 in 11 built) {best['pre'] / base:.2f}x"
    )
    path.unlink()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
