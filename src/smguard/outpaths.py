"""Where commands write: checked before any work, written atomically, one wording for errors.

Every command that writes output (``build``, ``prove``, ``generate``) goes through here, so
a bad ``--out`` (an existing file where a directory is wanted, a directory where a file is
wanted, ``/proc/x``, a path under a regular file, a read-only place) is one line naming the
path and the reason, raised as :class:`~smguard.errors.SmguardError` before minutes of work
are spent, instead of an ``OSError`` traceback at the end.

Files and directories are written under a temporary name in the same directory and renamed
into place when complete (:func:`atomic_file`, :func:`atomic_dir`): an interrupted or
failed run (Ctrl-C included) leaves nothing behind, and a reader never sees half a file.
Special files (``/dev/null``, a FIFO, a terminal) are written directly: they cannot be
replaced by a rename, and must not be.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from smguard.errors import SmguardError


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _fail(path: str | Path, reason: str) -> SmguardError:
    return SmguardError(f"{path}: {reason}")


def is_special(path: str | Path) -> bool:
    """An existing file that is not a regular file or directory (device, FIFO, socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def output_dir(path: str | Path) -> Path:
    """Make sure ``path`` is a directory this process can write into (created if missing)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise _fail(p, "exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(p, f"cannot create directory: {_reason(exc)}") from None
    _probe(p, p)
    return p


def output_file(path: str | Path) -> Path:
    """Make sure a regular file can be written at ``path`` (its directory is created if missing)."""
    p = Path(path)
    if p.is_dir():
        raise _fail(p, "is a directory, not a file")
    if is_special(p):  # /dev/null, a FIFO: written in place, nothing is created beside it
        if not os.access(p, os.W_OK):
            raise _fail(p, "cannot write here: Permission denied")
        return p
    _parent_ready(p)
    return p


def _parent_ready(p: Path) -> None:
    """``p``'s directory exists (created if missing) and takes new files; errors name ``p``."""
    parent = p.parent
    if parent.exists() and not parent.is_dir():
        raise _fail(p, f"{parent} is not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(p, f"cannot create its directory {parent}: {_reason(exc)}") from None
    _probe(parent, p)


def _probe(directory: Path, shown: Path) -> None:
    """Create and remove a file in ``directory``: the only sure test of writability (root
    passes ``os.access`` on read-only mounts and on ``/proc``)."""
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".smguard-probe-")
    except OSError as exc:
        raise _fail(shown, f"cannot write here: {_reason(exc)}") from None
    os.close(fd)
    os.unlink(name)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds,
    remove it when the block raises (``KeyboardInterrupt`` included). A special file
    (``/dev/null``) is yielded itself: a rename would replace the device node."""
    p = output_file(path)
    if is_special(p):
        yield p
        return
    fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; the result should look like any new file
        yield tmp
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it becomes ``path`` when the block
    succeeds and is removed when it raises. ``path`` must not exist or be an empty
    directory: new output is never mixed with old (a scan would read both)."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise _fail(p, "exists and is not a directory")
        if p.resolve() == Path.cwd().resolve():
            raise _fail(p, "is the working directory: name a directory to create")
        if any(p.iterdir()):
            raise _fail(p, "exists and is not empty (remove it or choose another directory)")
    _parent_ready(p)
    tmp = Path(tempfile.mkdtemp(dir=p.parent, prefix=f".{p.name}.", suffix=".part"))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        if p.exists():
            p.rmdir()
        os.replace(tmp, p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
