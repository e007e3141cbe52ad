"""Bad output paths are one line naming the path and the reason, exit 1 (issue 11, item 9).

Every command that writes (build, prove, generate, coverage) checks its paths through
``smguard.outpaths``; the matrix below feeds each one the paths a newcomer trips over.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smguard.cli import main
from smguard.errors import SmguardError
from smguard.outpaths import atomic_dir, atomic_file, output_dir, output_file

ROOT = Path(__file__).resolve().parents[2]


def _paths(tmp: Path) -> dict[str, Path]:
    (tmp / "afile").write_text("x")
    (tmp / "adir").mkdir()
    return {"file": tmp / "afile", "dir": tmp / "adir", "proc": Path("/proc/smguard-x"),
            "under_file": tmp / "afile" / "sub", "proc_deep": Path("/proc/smguard-x/y")}


CASES = [
    # (command args before the path, which path, what the message says)
    (["build", "--out"], "file", "exists and is not a directory"),
    (["build", "--out"], "proc", "cannot create directory"),
    (["build", "--out"], "under_file", "cannot create directory"),
    (["prove", "--days", "0.04", "--out"], "file", "exists and is not a directory"),
    (["generate", "--hours", "1", "--no-progress", "--out"], "dir", "is a directory, not a file"),
    (["generate", "--hours", "1", "--no-progress", "--out"], "under_file", "is not a directory"),
    (["generate", "--hours", "1", "--no-progress", "--out"], "proc_deep", "cannot create its directory"),
    (["generate", "--hours", "1", "--no-progress", "--format", "s3", "--out"], "file", "exists and is not a directory"),
    (["generate", "--hours", "1", "--no-progress", "--format", "s3", "--out"], "proc", "cannot write here"),
    (["generate", "--hours", "1", "--no-progress", "--format", "s3", "--out"], "under_file", "is not a directory"),
    (["generate", "--hours", "1", "--no-progress", "--out", "-", "--truth"], "dir", "is a directory, not a file"),
    (["generate", "--hours", "1", "--no-progress", "--out", "-", "--truth"], "proc_deep", "cannot create its directory"),
    (["coverage", "--navigator"], "dir", "is a directory, not a file"),
    (["coverage", "--navigator"], "proc_deep", "cannot create its directory"),
    (["coverage", "--readme"], "under_file", "no such file"),
]


@pytest.mark.parametrize(("args", "which", "reason"), CASES, ids=[f"{c[0][0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_bad_output_path_is_one_line_and_exit_1(tmp_path, capsys, args, which, reason):
    path = _paths(tmp_path)[which]
    before = sorted(tmp_path.rglob("*"))
    rc = main(["--pack", str(ROOT), *args, str(path)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 1, err
    assert len(err) == 1 and str(path) in err[0] and reason in err[0], err
    assert "Traceback" not in err[0]
    assert sorted(tmp_path.rglob("*")) == before  # nothing written beside the bad path
    assert not Path("/proc/smguard-x").exists()


def test_helpers_accept_good_paths_and_create_parents(tmp_path):
    assert output_dir(tmp_path / "a" / "b").is_dir()
    assert output_file(tmp_path / "c" / "d.txt") == tmp_path / "c" / "d.txt"
    assert (tmp_path / "c").is_dir() and not (tmp_path / "c" / "d.txt").exists()
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == []  # the write probe is gone


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError, SmguardError])
def test_atomic_writes_leave_nothing_when_the_block_raises(tmp_path, exc):
    target = tmp_path / "out.txt"
    with pytest.raises(exc), atomic_file(target) as tmp:
        tmp.write_text("partial")
        raise exc("stop") if exc is not KeyboardInterrupt else exc()
    d = tmp_path / "tree"
    with pytest.raises(exc), atomic_dir(d) as tmp:
        (tmp / "f").write_text("partial")
        raise exc("stop") if exc is not KeyboardInterrupt else exc()
    assert list(tmp_path.iterdir()) == []


def test_atomic_writes_replace_when_done(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_file(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # readers see the old file until the rename
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    (tmp_path / "empty").mkdir()
    with atomic_dir(tmp_path / "empty") as tmp:
        (tmp / "f").write_text("x")
    assert (tmp_path / "empty" / "f").read_text() == "x"


def test_atomic_outputs_get_ordinary_permissions(tmp_path, monkeypatch):
    import os

    old = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "g").write_text("y")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_atomic_dir_refuses_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SmguardError, match="is the working directory"), atomic_dir("."):
        pass


def test_a_device_is_written_in_place_never_replaced(tmp_path, capsys):
    """``--truth /dev/null`` (or ``--out /dev/null``) must not rename a regular file over the
    device node (as root, that would replace /dev/null), nor create files in /dev."""
    import stat as st

    before = sorted(p.name for p in Path("/dev").iterdir())
    with atomic_file("/dev/null") as tmp:
        assert tmp == Path("/dev/null")
        tmp.write_text("discarded")
    rc = main(["--pack", str(ROOT), "generate", "--hours", "1", "--no-progress", "--out", "/dev/null",
               "--truth", "/dev/null"])
    assert rc == 0 and "ground truth /dev/null" in capsys.readouterr().err
    assert st.S_ISCHR(Path("/dev/null").stat().st_mode)
    assert sorted(p.name for p in Path("/dev").iterdir()) == before
