"""An SPL error is shown at the exact line and column it was written at (issue 11 items 4, 20).

The engine reports an offset into the search with macros expanded and the YAML scalar folded
onto one line. For every way the search can be written (block ``|``/``>`` with chomping,
plain, single- and double-quoted multi-line scalars, any indentation, macros before the
error that shift every offset, an error inside a macro's own file or inside a macro's
argument), the reported line and column must be those of the failing word in the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packedit import edit, line_of, problems

from smguard import spl, yamlio
from smguard.model import usable_pack
from smguard.model.entities import Macro
from smguard.model.positions import Source, locate

ROOT = Path(__file__).resolve().parents[2]
CHECK = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PIECES = ["| eval a=1", '| eval s="x  y"', "| eval z='eventName'", "| where isnotnull(eventName)",
          "| eval p=`smguard_principal`", "| rename a AS b", "| fields - b", "| eval n=len(s) + 2",
          "| stats count by eventName", "| eval c=count*2", '| search eventName="Create*"']
ERRORS = {"| evl x=1": "evl", "| eval y=uppr(eventName)": "uppr", "| `m_arg(uppr(eventName))`": "uppr",
          "| `m_bad`": "mtch"}
STYLES = ["|", "|-", "|+", ">", ">-", "plain", "single", "double"]


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """The pack plus two macros of our own, each in its own file: one whose argument is
    put into an eval, one whose definition fails on its third line."""
    found, _ = usable_pack(ROOT)
    where = tmp_path_factory.mktemp("macros")
    arg_file = where / "m_arg.yml"
    arg_file.write_text("name: m_arg\nargs: [e]\ndefinition: eval y=$e$\ndescription: d\n")
    bad_file = where / "m_bad.yml"
    bad_file.write_text("name: m_bad\ndefinition: >-\n  eval q=1\n  | eval r=lower(eventName)\n"
                        "  | where   mtch(r, \"x\")\ndescription: d\n")
    macros = dict(found.macros)
    macros["m_arg(1)"] = Macro("m_arg", "eval y=$e$", "d", ("e",), yamlio.load(arg_file))
    macros["m_bad"] = Macro("m_bad", yamlio.load(bad_file).data["definition"], "d", (), yamlio.load(bad_file))
    return dataclasses.replace(found, macros=macros)


def render(lines: list[str], style: str, indent: int) -> str:
    """``search: {spl: ...}`` with the SPL's lines written as a scalar of ``style``."""
    pad = " " * indent
    if style in ("|", "|-", "|+", ">", ">-"):
        body = "".join(f"{pad}{line}\n" for line in lines)
        return f"id: x\nsearch:\n  spl: {style}\n{body}name: y\n"
    if style == "plain":
        text = f"\n{pad}".join(lines)
    elif style == "single":
        text = "'" + f"\n{pad}".join(line.replace("'", "''") for line in lines) + "'"
    else:
        text = '"' + f"\n{pad}".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines) + '"'
    return f"id: x\nsearch:\n  spl: {text}\nname: y\n"


@st.composite
def searches(draw):
    n = draw(st.integers(1, 6))
    lines = [" ".join(draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=3))) for _ in range(n)]
    lines.insert(0, 'search `sagemaker_cloudtrail` eventName="CreateModel"')
    error = draw(st.sampled_from(sorted(ERRORS)))
    k = draw(st.integers(0, len(lines)))
    if k < len(lines) and draw(st.booleans()):
        lines[k] = lines[k] + "   " + error  # after other words on the same line
    else:
        lines.insert(max(k, 1), error)  # on a line of its own
    return lines, error, draw(st.sampled_from(STYLES)), draw(st.sampled_from([3, 4, 7]))  # deeper than `spl:`


def expected_at(text: str, word: str) -> tuple[int, int]:
    i = text.index(word)
    assert text.count(word) == 1
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


@CHECK
@given(searches())
def test_the_reported_line_and_column_hold_the_failing_word(pack, tmp_path_factory, case):
    lines, error, style, indent = case
    path = tmp_path_factory.mktemp("det") / "d.yml"
    text = render(lines, style, indent)
    path.write_text(text, encoding="utf-8")
    value = yaml.safe_load(text)["search"]["spl"]
    assert value.split() == " ".join(lines).split()  # the rendering says what we meant
    search = " ".join(value.split())  # as compile_raw ships it
    with pytest.raises(spl.SplError) as info:
        spl.check(search, pack.context())
    where = locate(pack, search, info.value, Source(str(path), ("search", "spl")))
    assert where is not None, (text, str(info.value))
    if error == "| `m_bad`":  # the error is in the macro's own file, at its third line
        bad = pack.macros["m_bad"].doc.path
        assert (where.path, where.macro) == (bad, "m_bad")
        assert (where.line, where.column) == expected_at(Path(bad).read_text(), ERRORS[error])
    else:  # in the detection's file: also when it came in through a macro's argument
        assert (where.path, where.macro) == (str(path), "")
        assert (where.line, where.column) == expected_at(text, ERRORS[error])


def test_validate_reports_a_macro_error_at_the_macro_and_at_each_user(pack_copy):
    rel = "macros/smguard_principal.yml"
    edit(pack_copy, rel, "AND NOT match(", "AND NOT mtch(")
    line = line_of(pack_copy, rel, "AND NOT mtch(")
    column = (pack_copy / rel).read_text().splitlines()[line - 1].index("mtch(") + 1
    found = problems(pack_copy)
    at_macro = [p for p in found if p.startswith(str(pack_copy / rel))]
    assert at_macro == [f"{pack_copy / rel}:{line}: SPL error at column {column}: unsupported eval function 'mtch'"
                        " (near \"ssuer.arn') AND NOT mtch('userIdentity.s\")"]
    users = [p for p in found if "uses macro `smguard_principal`" in p]
    pack, _ = usable_pack(pack_copy)
    assert len(users) == len(pack.broken) == sum(
        "smguard_principal" in p.read_text() for p in (pack_copy / "detections").rglob("*.yml"))
    assert all(p.endswith(f"which has an SPL error at {pack_copy / rel}:{line}") for p in users)


def test_a_runtime_error_without_a_place_is_shown_at_the_search(repo_root):
    from smguard.model.positions import spl_problems

    pack, _ = usable_pack(repo_root)
    det = pack.detections[0]
    got = spl_problems(pack, det, spl.SplError("invalid relative time 'CreateModel'", 0, ""), named=True)
    assert [str(p) for p in got] == [f"{det.path}:{det.doc.line(('search',))}: {det.name}: SPL error: "
                                     "invalid relative time 'CreateModel'"]
