"""Shared fixtures: the repository root and a scratch copy of the pack to break."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import resource
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- two workers
#
# pytest-xdist (`load`) first hands each worker a run of consecutive tests (a quarter of its
# share: ~265 of ~2,120), then more as they finish. A module whose tests straddle two runs
# builds its expensive module fixture on both workers. The modules below go first, in this
# order, so they fall wholly in the first worker's first run (201 + 39 tests) and are built
# once (measured: the ESCU day, 11 s, was built on both). Only the order changes; every test
# is independent of it. (`--dist loadgroup` with `xdist_group` marks would be the documented
# way, but with pytest 9 the marks do not reach xdist 3.8's scheduler; a scope-grouping
# scheduler raised the suite's peak memory to 1.45 GB.)
FIRST_MODULES = ("tests/corpus/test_escu_corpus.py", "tests/spl/test_scan_lazy.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return FIRST_MODULES.index(path) if path in FIRST_MODULES else len(FIRST_MODULES)
    items.sort(key=rank)  # stable: every other test keeps pytest's order


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """A writable copy of the pack (settings, detections, macros, lookups, catalog, scenarios)."""
    dst = tmp_path / "pack"
    dst.mkdir()
    for name in ("pack.yml", "guardrails.yml", "analytic_stories.yml"):
        shutil.copy(ROOT / name, dst / name)
    for name in ("detections", "macros", "lookups", "generators"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dst / name)
    return dst


# ----------------------------------------------------------------------------- memory guard
#
# The suite must run on a 2-CPU, small-memory machine (issue 11: peak <= 1.5 GB). Each test's
# teardown checks this process's peak resident memory (and that of the largest child process it
# waited for, e.g. a scan part) plus, under pytest-xdist, what the other workers and the main
# process hold right now; the first test that pushes the sum past the bound fails, naming
# itself, so a memory regression is found where it happens, not as an OOM kill later.
# SMGUARD_TEST_MAX_RSS_MB overrides the bound (0 turns the guard off);
# SMGUARD_TEST_RSS_LOG=FILE appends "test peak_MB current_MB" per test, to find the hogs.

MAX_RSS_MB = int(os.environ.get("SMGUARD_TEST_MAX_RSS_MB", "1400"))
NEAR_MB = 200  # within this of the bound, the exact sum (PSS, every process) decides
RSS_LOG = os.environ.get("SMGUARD_TEST_RSS_LOG")


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _status_mb(key: str, pid: int | str = "self", file: str = "status") -> float:
    """One memory line of ``/proc/PID/<file>`` in MB (status: VmRSS now, VmHWM peak;
    smaps_rollup: Pss); 0 if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    """``pid``'s child processes and theirs (Linux's ``/proc/PID/task/TID/children``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(x) for x in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def _pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (a forked scan part's, libraries) split between
    the processes sharing them, so a sum over processes is what they hold together."""
    return _status_mb("Pss", pid, "smaps_rollup")


def _others_mb() -> float:
    """Under pytest-xdist: what the main process and the other workers hold now (RSS,
    cheap), so the bound is the whole suite's, not one worker's. 0 in one process. The
    other workers' own children (short-lived forked scan parts, whose RSS repeats pages
    they share with their parent) are counted when this sum comes near the bound, by
    :func:`_suite_mb`."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return 0.0
    main, me = os.getppid(), os.getpid()
    try:
        workers = [int(x) for t in Path(f"/proc/{main}/task").iterdir()
                   for x in (t / "children").read_text().split()]
    except (OSError, ValueError):
        workers = []
    return _status_mb("VmRSS", main) + sum(_status_mb("VmRSS", p) for p in workers if p != me)


def _suite_mb(own_peak: float) -> float:
    """The whole suite's memory now, exactly (PSS of the main process and every
    descendant), plus how far this process's peak was above what it holds now."""
    main = os.getppid()
    return (sum(_pss_mb(p) for p in [main, *_descendants(main)])
            + max(0.0, own_peak - _status_mb("VmRSS")))


def _reset_peak() -> bool:
    """Start this process's peak (VmHWM) afresh, so the next reading is one test's peak
    (Linux: write 5 to /proc/self/clear_refs). False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _memory_guard(request):
    per_test = _reset_peak()
    yield
    own = _status_mb("VmHWM") if per_test else _peak_mb(resource.RUSAGE_SELF)
    child = _peak_mb(resource.RUSAGE_CHILDREN)
    others = _others_mb()
    if RSS_LOG:
        with open(RSS_LOG, "a") as fh:
            fh.write(f"{request.node.nodeid} {own:.0f} {_status_mb('VmRSS'):.0f} {child:.0f} {others:.0f}\n")
    peak = max(own, child)
    if not MAX_RSS_MB:
        return
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one process: its own peak is the suite's
        if peak <= MAX_RSS_MB:
            return
        held = ""
    else:
        if peak + others <= MAX_RSS_MB - NEAR_MB:
            return
        total = _suite_mb(peak)
        if total <= MAX_RSS_MB:
            return  # RSS counted shared pages twice; the exact sum is within the bound
        held = f" while the suite held {total:.0f} MB in all"
    pytest.fail(f"memory: the test process peaked at {own:.0f} MB (largest child {child:.0f} MB){held}, over "
                f"the suite's bound of {MAX_RSS_MB} MB (SMGUARD_TEST_MAX_RSS_MB); this test pushed it there",
                pytrace=False)


def _give_memory_back() -> None:
    """Return freed heap to the system. A module's fixtures (a generated day, the corpus's
    events) are freed when it ends, but glibc keeps the pages; the process then stays at its
    high-water mark, and every scan part forked later starts from it. ``malloc_trim`` hands
    the free pages back (a no-op where there is no glibc)."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # every finalizer has run, including those of a module or package that ends here
    if nextitem is None or nextitem.path != item.path:
        _give_memory_back()


# ----------------------------------------------------------------------------- nothing left in the repository
#
# Tests run from the repository root; one that writes a relative path (a fuzzed `--truth 3438`,
# say) would leave a file in the clone. Every test is checked for new names beside pack.yml
# (hidden ones such as hypothesis's database are the tools' own and allowed).

_ROOT_NAMES = frozenset(os.listdir(ROOT))


@pytest.fixture(autouse=True)
def _leaves_the_repository_alone():
    yield
    new = sorted(n for n in set(os.listdir(ROOT)) - _ROOT_NAMES if not n.startswith("."))
    if new:
        pytest.fail(f"the test left {', '.join(new)} in the repository root ({ROOT}); write to tmp_path",
                    pytrace=False)
