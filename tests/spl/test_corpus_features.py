"""Golden tests for engine behaviour added or pinned for the real ESCU CloudTrail corpus
(tests/corpus/). One test per semantic the corpus depends on."""

from __future__ import annotations

import pytest

from smguard.spl import UnsupportedError, expand_macros, parse
from smguard.spl.context import SearchContext

from .util import ev, q

EVENTS = [ev("e1", 100, user="a", n="1"), ev("e2", 200, user="b", n="2")]


@pytest.mark.parametrize("cmd", ["anomalydetection", "transaction"])
def test_known_but_unimplemented_command_parses(cmd):
    # "AWS Exfiltration via Anomalous GetObject API Activity" must parse: it is valid SPL.
    spl = f'* | stats count by user | {cmd} "count" "user" action=annotate | search probable_cause=*'
    p = parse(expand_macros(spl, SearchContext()))
    c = p.commands[2]
    assert c.name == cmd
    assert c.args == '"count" "user" action=annotate'
    assert c.pos == spl.index(cmd)


@pytest.mark.parametrize("cmd", ["anomalydetection", "transaction"])
def test_known_but_unimplemented_command_raises_when_run(cmd):
    spl = f"* | stats count by user | {cmd} count"
    with pytest.raises(UnsupportedError, match=f"unsupported command '{cmd}'") as exc:
        q(spl, EVENTS)
    assert exc.value.pos == spl.index(cmd)


def test_unknown_command_still_fails_at_parse():
    with pytest.raises(UnsupportedError, match="unsupported command 'stast'"):
        parse("* | stast count")


LIFECYCLE = (
    '{"requestParameters": {"bucketName": "b1", "LifecycleConfiguration": '
    '{"Rule": {"ID": "x", "Expiration": {"Days": 1}}}}}'
)


def test_spath_braces_on_an_object_pass_the_object():
    # unverified Splunk behaviour, relied on by ESCU "AWS Defense Evasion PutBucketLifecycle"
    e = ev("e1", 100, raw=LIFECYCLE)
    res = q("* | spath path=requestParameters{}.LifecycleConfiguration{}.Rule{}.Expiration{}.Days output=d"
            " | spath path=requestParameters{}.bucketName output=b | table d b", [e])
    assert res.rows == [{"d": "1", "b": "b1"}]


def test_spath_braces_still_iterate_arrays_and_skip_scalars():
    raw = '{"r": [{"d": 1}, {"d": 2}], "s": "x"}'
    res = q("* | spath path=r{}.d output=d | spath path=s{} output=s2 | table d s2", [ev("e1", 100, raw=raw)])
    assert res.rows == [{"d": ["1", "2"]}]
