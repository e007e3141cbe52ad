"""Quoting values and field names so hostile input cannot change a query's meaning.

SPL has two quoting worlds: the ``search`` command (double-quoted values; ``*`` stays a
wildcard) and ``eval``/``where`` (double quotes are string literals, single quotes are
field names). Every value that reaches generated SPL goes through one of these.
"""

from __future__ import annotations

import re

_PLAIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEARCH_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.{}:-]*$")


def dq(value: object) -> str:
    """A double-quoted SPL string: backslash and double quote escaped.

    Inside double quotes pipes, ``=``, spaces, brackets and backticks are literal text.
    """
    text = value if isinstance(value, str) else _scalar(value)
    if "\n" in text or "\r" in text:
        # savedsearches.conf keeps a search on one line (a line break ends the setting
        # unless escaped), and the compiler used to fold it into a space: a value that
        # silently matched something else. Refuse it.
        raise ValueError(f"value {text!r} contains a line break, which a search term cannot keep exactly")
    if "`" in text:
        # Splunk expands backtick macros before it parses quotes, so no quoting can keep a
        # backtick literal: refuse rather than emit a search that means something else.
        raise ValueError(f"value {text!r} contains a backtick, which Splunk would expand as a macro")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def search_field(name: str) -> str:
    """A field name on the left of ``=`` in ``search`` (validated, never quoted)."""
    if not _SEARCH_FIELD.match(name):
        raise ValueError(f"field name {name!r} cannot be used in a search")
    return name


def eval_field(name: str) -> str:
    """A field reference in ``eval``/``where``: single-quoted unless it is a plain word."""
    if _PLAIN_FIELD.match(name):
        return name
    if "'" in name or "\\" in name:
        raise ValueError(f"field name {name!r} cannot be referenced in eval")
    return f"'{name}'"


def stats_field(name: str) -> str:
    """A field name inside a stats function or BY clause."""
    return search_field(name)


def wildcard_regex(value: str) -> str:
    """The regex (anchored, case-insensitive) that SPL's search applies to ``f=value``."""
    parts = (re.escape(p) for p in value.split("*"))
    return "(?i)^" + ".*".join(parts) + "$"
