"""The pack: settings, macros, lookups and detections, loaded and cross-checked.

``load_pack`` reads everything and raises :class:`SmguardError` with every problem
found; ``check_pack`` returns the problems instead (``smguard validate`` uses it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from smguard.compile import CompiledSearch, CompileError, compile_detection
from smguard.compile.search import soc_lookup
from smguard.errors import Problem, SmguardError, rel
from smguard.model.entities import Detection, Lookup, Macro, Settings, snake
from smguard.model.loader import load_detections, load_lookups, load_macros, load_settings
from smguard.model.positions import Source, spl_problems
from smguard.model.stories import Story, load_stories
from smguard.model.tuning import Tuning, check_tuning, load_tuning
from smguard.spl.context import LookupDef, MacroDef, SearchContext
from smguard.spl.errors import SplError

__all__ = ["Detection", "Lookup", "Macro", "Pack", "Settings", "check_detection", "check_pack", "load_pack", "snake",
           "usable_pack"]

MITRE_RE = re.compile(r"^T\d{4}(\.\d{3})?$")
TOKEN_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_.{}]*)\$")


@dataclass
class Pack:
    """Everything the compiler, packager and engine need, from one pack root."""

    root: Path
    settings: Settings
    macros: dict[str, Macro] = field(default_factory=dict)  # keyed by stanza
    lookups: dict[str, Lookup] = field(default_factory=dict)
    detections: list[Detection] = field(default_factory=list)
    stories: dict[str, Story] = field(default_factory=dict)
    tuning: dict[str, Tuning] = field(default_factory=dict)  # soc_tuning.yml, by detection name
    shipped_filters: dict[str, str] = field(default_factory=dict)  # filter macro -> definition before SOC tuning
    broken: list[Detection] = field(default_factory=list)  # set aside by usable_pack: they have problems
    _compiled: dict[str, CompiledSearch] = field(default_factory=dict)

    def compiled(self, det: Detection) -> CompiledSearch:
        if det.id not in self._compiled:
            self._compiled[det.id] = compile_detection(det, self.settings.base_macro)
        return self._compiled[det.id]

    def detection(self, key: str) -> Detection:
        """Find a detection by id, name, or filter-macro style snake name."""
        for det in self.detections:
            if key in (det.id, det.name, snake(det.name)):
                return det
        for det in self.broken:
            if key in (det.id, det.name, snake(det.name)):
                raise SmguardError(f"detection {det.name!r} ({det.path}) has problems (listed above), so it cannot run")
        raise SmguardError(f"no detection named or with id {key!r}")

    def allow_lists(self) -> list[Lookup]:
        """Lookups some structured detection uses as an allow-list: each has a SOC part (KV store)."""
        names = {ref["lookup"] for det in self.detections if not det.is_raw for ref in det.search.get("allow", [])}
        return [self.lookups[n] for n in sorted(names) if n in self.lookups]

    def context(self) -> SearchContext:
        """Macros and lookups exactly as they ship, for the offline engine.

        Each allow-list's SOC part ``<name>_soc`` is served from ``lookups/<name>_soc.csv``
        (the stand-in for its KV store rows) with the same match types. It is case-sensitive
        because Splunk's KV store lookups are: ``case_sensitive_match`` "does not apply to KV
        Store lookups" and they do "not support case-insensitive field lookups"
        (https://help.splunk.com/en/splunk-enterprise/manage-knowledge-objects/knowledge-management-manual/9.1/use-the-configuration-files-to-configure-lookups/add-field-matching-rules-to-your-lookup-configuration,
        https://docs.splunk.com/Documentation/Splunk/9.0.5/Knowledge/DefineaKVStorelookupinSplunkWeb).
        """
        macros = {k: MacroDef(m.name, m.definition, m.args) for k, m in self.macros.items()}
        lookups = {name: _lookup_def(lk, lk.name, lk.rows, lk.case_sensitive_match) for name, lk in self.lookups.items()}
        for lk in self.allow_lists():
            soc = soc_lookup(lk.name)
            lookups[soc] = _lookup_def(lk, soc, lk.soc_rows, True, filename="")
        return SearchContext(macros, lookups)


def _lookup_def(lk: Lookup, name: str, rows: list[dict[str, str]], case_sensitive: bool,
                filename: str | None = None) -> LookupDef:
    return LookupDef(
        name=name, fields=lk.fields, rows=tuple(rows), case_sensitive=case_sensitive,
        match_types={c: t for c, t in lk.match_type.items() if t != "EXACT"},
        max_matches=lk.max_matches or 100, min_matches=lk.min_matches or 0,
        default_match=lk.default_match, filename=lk.filename if filename is None else filename,
    )


def _base_macro(settings: Settings) -> Macro:
    definition = f"index={settings.index} sourcetype={settings.sourcetype}"
    return Macro(settings.base_macro, definition,
                 "Where the CloudTrail data lives. Set index and sourcetype in pack.yml (or edit this macro in Splunk).",
                 generated=True)


def check_pack(root: str | Path = ".", *, generators: bool = True) -> tuple[Pack | None, list[Problem]]:
    """Load the pack at ``root`` and return it with every problem found (with
    ``generators=False``, none of ``generators/``: a command that never generates logs
    does not load the baseline and scenarios, a quarter of a second)."""
    root = Path(root)
    problems: list[Problem] = []
    settings = load_settings(root, problems)
    macros = load_macros(root, problems)
    lookups = load_lookups(root, problems)
    detections = load_detections(root, problems)
    if settings is None:
        return None, sorted(set(problems))
    pack = Pack(root, settings)

    for m in macros:
        if m.stanza in pack.macros:
            problems.append(m.doc.problem(("name",), f"macro {m.stanza} is defined twice"))  # type: ignore[union-attr]
        if m.name == settings.base_macro:
            problems.append(m.doc.problem(("name",), f"{m.name} is generated from pack.yml data: set index/sourcetype there"))  # type: ignore[union-attr]
        pack.macros[m.stanza] = m
    pack.macros.setdefault(settings.base_macro, _base_macro(settings))
    for lk in lookups:
        if lk.name in pack.lookups:
            problems.append(lk.doc.problem(("name",), f"lookup {lk.name} is defined twice"))  # type: ignore[union-attr]
        pack.lookups[lk.name] = lk

    seen_ids: dict[str, Detection] = {}
    seen_names: dict[str, Detection] = {}
    for det in detections:
        for key, seen, what in ((det.id, seen_ids, "id"), (snake(det.name), seen_names, "name")):
            if key in seen:
                problems.append(det.doc.problem((what,), f"duplicate {what} {key!r}: also in {seen[key].path}"))
            else:
                seen[key] = det
        pack.detections.append(det)
        pack.macros.setdefault(det.filter_macro, Macro(
            det.filter_macro, "search *", f"Tuning filter for '{det.name}': add exclusions here.", generated=True))
    tuning, tuning_doc = load_tuning(root, problems)
    problems.extend(check_tuning(tuning, tuning_doc, {d.name for d in pack.detections}))
    pack.tuning = tuning
    pack.shipped_filters = {d.filter_macro: pack.macros[d.filter_macro].definition for d in pack.detections}
    for det in pack.detections:
        t = tuning.get(det.name)
        if t is not None and t.filter is not None:  # the SOC's filter, pulled from the server
            m = pack.macros[det.filter_macro]
            pack.macros[det.filter_macro] = Macro(m.name, t.filter, m.description, m.args, m.doc, m.generated)
    for det in pack.detections:
        problems.extend(check_detection(pack, det))
    problems.extend(_check_catalog(pack))
    problems.extend(_check_stories(pack))
    if generators:
        problems.extend(_check_generators(pack))
    return pack, sorted(set(problems))


def usable_pack(root: str | Path = ".", *, generators: bool = True) -> tuple[Pack, list[Problem]]:
    """The pack with only the detections that have no problems of their own.

    Lets ``smguard test`` and the pytest suite run every sound detection while one file is
    broken; the problems are still returned (and make the run fail). ``generators``: as
    for :func:`check_pack`.
    """
    pack, problems = check_pack(root, generators=generators)
    if pack is None:
        raise SmguardError(problems)
    bad = {p.path for p in problems}
    pack.broken = [d for d in pack.detections if d.path in bad]
    pack.detections = [d for d in pack.detections if d.path not in bad]
    return pack, problems


def load_pack(root: str | Path = ".") -> Pack:
    """Load the pack or raise :class:`SmguardError` listing every problem."""
    pack, problems = check_pack(root)
    if problems or pack is None:
        raise SmguardError(problems or [Problem(rel(Path(root) / "pack.yml"), 0, "cannot load pack")])
    return pack


def check_detection(pack: Pack, det: Detection) -> list[Problem]:
    """Every problem of one schema-valid detection against the rest of ``pack`` (SPL planned too)."""
    out: list[Problem] = []
    doc = det.doc
    try:
        compiled = pack.compiled(det)
    except CompileError as exc:
        return [doc.problem(exc.key, str(exc))]
    except ValueError as exc:
        return [doc.problem(("search",), str(exc))]
    for stanza in sorted(compiled.macros):
        if stanza not in pack.macros:
            out.append(doc.problem(("search",), f"unknown macro `{stanza}`"))
    s = det.search
    listed = set()
    for kind in ("allow", "deny"):
        for i, ref in enumerate(s.get(kind, []) if not det.is_raw else []):
            listed.add(ref["lookup"])
            if ref["lookup"] not in pack.lookups:
                out.append(doc.problem(("search", kind, i, "lookup"), f"unknown lookup {ref['lookup']!r}"))
    for name in sorted(compiled.lookups - listed):
        if name not in pack.lookups:
            out.append(doc.problem(("search",), f"unknown lookup {name!r}"))
    for kind in ("allow", "deny"):
        for i, ref in enumerate(s.get(kind, []) if not det.is_raw else []):
            lk = pack.lookups.get(ref["lookup"])
            column = ref.get("column", ref["field"])
            if lk and column not in lk.fields:
                out.append(doc.problem(("search", kind, i), f"lookup {lk.name} has no column {column!r} (fields: {list(lk.fields)})"))
            if lk and lk.default_match is not None:
                out.append(doc.problem(("search", kind, i), f"lookup {lk.name} sets default_match, so every event would match it"))
    if det.is_raw and not compiled.spl.rstrip().endswith(f"`{det.filter_macro}`"):
        out.append(doc.problem(("search", "spl"), f"raw SPL must end with its filter macro `{det.filter_macro}`"))
    output = set(compiled.output)
    rba = det.data["rba"]
    for i, ro in enumerate(rba["risk_objects"]):
        if ro["field"] not in output:
            out.append(doc.problem(("rba", "risk_objects", i, "field"), f"risk object field {ro['field']!r} is not in the search output {sorted(output)}"))
    for i, to in enumerate(rba.get("threat_objects", [])):
        if to["field"] not in output:
            out.append(doc.problem(("rba", "threat_objects", i, "field"), f"threat object field {to['field']!r} is not in the search output"))
    for token in TOKEN_RE.findall(rba["message"]):
        if token not in output:
            out.append(doc.problem(("rba", "message"), f"message token ${token}$ is not produced by the search"))
    if not det.data.get("drilldown_searches") and "eventID" not in output:
        out.append(doc.problem(("search",), "the default raw-events drilldown needs eventID in the search output "
                                            "(add it, or write drilldown_searches)"))
    for i, dd in enumerate(det.data.get("drilldown_searches", [])):
        for token in TOKEN_RE.findall(dd["search"]):
            if token not in output and token not in ("info_min_time", "info_max_time"):
                out.append(doc.problem(("drilldown_searches", i, "search"), f"drilldown token ${token}$ is not produced by the search"))
    thr = det.throttling
    if thr:
        for f in thr.fields:
            if f not in output:
                out.append(doc.problem(("throttling", "fields"), f"throttling field {f!r} is not in the search output"))
    for i, t in enumerate(det.data["tags"].get("mitre_attack_id", [])):
        if not MITRE_RE.match(t):
            out.append(doc.problem(("tags", "mitre_attack_id", i), f"malformed MITRE ATT&CK id {t!r} (expected T1234 or T1234.001)"))
    out.extend(_check_tests(pack, det))
    if not out:
        out.extend(_check_spl(pack, det, compiled.spl))
    return out


def _check_spl(pack: Pack, det: Detection, spl: str) -> list[Problem]:
    """Parse and plan the search with the engine, so broken SPL never ships.

    A structured detection's ``eval:`` entries are planned one by one first, so an
    unknown function is reported at its own line; anything else at ``search:``.
    """
    from smguard import spl as engine

    ctx = pack.context()
    doc = det.doc
    if not det.is_raw:
        for name, expr in (det.search.get("eval") or {}).items():
            head = f"| makeresults | eval {name}="
            try:
                engine.check(head + str(expr), ctx)
            except SplError as exc:
                return spl_problems(pack, det, exc, spl=head + str(expr), key=("search", "eval", name),
                                    own=Source(doc.path, ("search", "eval", name), len(head)), label=f"eval {name}: ")
    try:
        engine.check(spl, ctx)
    except SplError as exc:
        return spl_problems(pack, det, exc)
    return []


def _check_tests(pack: Pack, det: Detection) -> list[Problem]:
    """Every detection proves itself: a case that must fire and one that must stay silent."""
    from smguard.testing.expect import parse_count
    from smguard.testing.mutate import without_clause

    out: list[Problem] = []
    doc = det.doc
    positive = negative = False
    scen_dir = pack.root / "generators" / "scenarios"
    for i, test in enumerate(det.tests):
        try:
            rule = parse_count(test["expect"]["results"])
        except ValueError as exc:
            out.append(doc.problem(("tests", i, "expect", "results"), str(exc)))
            continue
        positive |= rule.low >= 1
        negative |= rule.high == 0
        if rule.high == 0 and "scenario" in test and "near_miss_of" not in test:
            out.append(doc.problem(("tests", i), "a near-miss scenario case must name the clause that keeps it silent (near_miss_of)"))
        if "near_miss_of" in test:
            try:
                without_clause(pack, det, test["near_miss_of"])
            except (ValueError, CompileError) as exc:
                out.append(doc.problem(("tests", i, "near_miss_of"), str(exc)))
        name = test.get("scenario")
        if name and scen_dir.is_dir() and not (scen_dir / f"{name}.yml").exists():
            out.append(doc.problem(("tests", i, "scenario"), f"unknown scenario {name!r} (no generators/scenarios/{name}.yml)"))
    if not positive:
        out.append(doc.problem(("tests",), "no test case that must fire (results >= 1)"))
    if not negative:
        out.append(doc.problem(("tests",), "no test case that must stay silent (results: 0)"))
    return out


def _check_generators(pack: Pack) -> list[Problem]:
    """The baseline and every scenario, with the generator's own loader (as ``test`` will use them)."""
    from smguard.generate.model import load_baseline
    from smguard.generate.scenario import load_scenario

    gen = pack.root / "generators"
    path = gen / "baseline.yml"
    if not path.exists():
        return []
    try:
        baseline = load_baseline(path)
    except SmguardError as exc:
        return exc.problems
    out: list[Problem] = []
    for scen in sorted((gen / "scenarios").glob("*.yml")):
        try:
            load_scenario(scen, baseline)
        except SmguardError as exc:
            out.extend(exc.problems)
    return out


def _check_catalog(pack: Pack) -> list[Problem]:
    """Guardrail ids a detection enforces must exist in guardrails.yml when it exists."""
    from smguard.model.catalog import load_catalog

    path = pack.root / "guardrails.yml"
    if not path.exists():
        return []
    try:
        catalog = load_catalog(path)
    except SmguardError as exc:
        return exc.problems
    out = []
    for det in pack.detections:
        for i, gid in enumerate(det.enforces):
            if gid not in catalog.entries:
                out.append(det.doc.problem(("guardrail", "enforces", i), f"unknown guardrail {gid!r} (not in guardrails.yml)"))
    return out


def _check_stories(pack: Pack) -> list[Problem]:
    """Detections' analytic stories must be defined in analytic_stories.yml."""
    path = pack.root / "analytic_stories.yml"
    if not path.exists():
        return [Problem(rel(path), 0, "analytic_stories.yml is missing")]
    try:
        pack.stories = load_stories(path)
    except SmguardError as exc:
        return exc.problems
    out = []
    for det in pack.detections:
        for i, name in enumerate(det.data["tags"]["analytic_story"]):
            if name not in pack.stories:
                out.append(det.doc.problem(("tags", "analytic_story", i), f"unknown analytic story {name!r} (not in analytic_stories.yml)"))
    return out
