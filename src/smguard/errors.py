"""Problems reported to users as ``path:line: message``.

Every loader and validator in smguard collects :class:`Problem` objects instead of
raising on the first one, so a user sees everything that is wrong in one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input file, at one place.

    ``line`` 0 means the file as a whole (shown as ``path: message``); an empty ``path`` means
    no file at all (an option value, a server): shown as ``smguard: message``, never with an
    invented location.
    """

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        if not self.path:
            return f"smguard: {self.message}"
        if self.line <= 0:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class SmguardError(Exception):
    """An error that carries one or more located problems.

    Raised when work cannot go on (e.g. a scenario file is invalid before generation);
    the CLI prints every problem and exits 1.
    """

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", 0, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def rel(path: str | Path) -> str:
    """Show a path relative to the working directory when it is below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
