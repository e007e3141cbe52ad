"""Log records -> engine events, once, with a cheap prefilter before field extraction.

Built on :mod:`smguard.cloudtrail.reader` (streaming NDJSON / Records / gzip / dirs with
located bad-input reporting) and :mod:`smguard.cloudtrail.fields` (Splunk's view of a
record). ``Prefilter`` answers "could any of these searches match this record?" from
``prefilter_values`` (a handful of top-level fields, no flattening), the way Splunk's
index lets a search skip events that lack its literal terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from smguard.cloudtrail.fields import PREFILTER_FIELDS, prefilter_values, to_event
from smguard.cloudtrail.reader import ReadReport, iter_records
from smguard.spl.searchmatch import value_matcher

PREFILTER_KEYS: tuple[str, ...] = (*PREFILTER_FIELDS, "errorCode")


class Prefilter:
    """For N searches' required terms, which searches a record may satisfy.

    Terms are ``{field: patterns}`` (see :func:`smguard.spl.required_terms`); exact
    ``eventName`` values go through a dict (one lookup per record however many
    detections there are), everything else through compiled wildcard matchers.
    """

    def __init__(self, terms: Sequence[dict[str, tuple[str, ...]]]):
        self.n = len(terms)
        self.by_name: dict[str, list[int]] = {}
        self.generic: list[int] = []  # searches not indexed by exact eventName
        self.checks: list[list[tuple[str, list[Callable[[str], bool]]]]] = []
        for i, t in enumerate(terms):
            names = t.get("eventName")
            if names and all("*" not in v for v in names):
                for v in names:
                    self.by_name.setdefault(v.lower(), []).append(i)
            else:
                self.generic.append(i)
            self.checks.append([(f, [value_matcher(p) for p in pats]) for f, pats in t.items() if f != "eventName" or i in self.generic])
        self.all_unconstrained = all(not t for t in terms)

    def candidates(self, rec: Any) -> list[int]:
        """Indexes of the searches that may match ``rec``."""
        vals = prefilter_values(rec)
        name = vals.get("eventName")
        if name is None:
            cand = list(range(self.n))
        else:
            cand = self.by_name.get(name.lower(), []) + self.generic
        out: list[int] = []
        for i in cand:
            ok = True
            for f, ms in self.checks[i]:
                v = vals.get(f)
                if v is not None and not any(m(v) for m in ms):
                    ok = False
                    break
            if ok:
                out.append(i)
        return out


def read_events(
    paths: Sequence[str],
    *,
    index: str,
    sourcetype: str,
    report: ReadReport | None = None,
    strict: bool = False,
    keep: Callable[[Any], bool] | None = None,
    progress: bool = False,
) -> Iterator[dict]:
    """Events for every record of ``paths`` (those ``keep`` accepts, if given)."""
    records: Iterable[Any] = iter_records(paths, strict=strict, report=report)
    if progress:
        records = _progress(records)
    for rec in records:
        if keep is not None and not keep(rec):
            continue
        yield to_event(rec, index=index, sourcetype=sourcetype)


def _progress(records: Iterable[Any]) -> Iterable[Any]:
    from tqdm import tqdm

    return tqdm(records, unit=" rec", unit_scale=True, mininterval=0.5, leave=False)
