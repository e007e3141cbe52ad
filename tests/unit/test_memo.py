"""The one bounded memo (smguard.memo.LRU): recency, not insertion, decides what is forgotten."""

from smguard.memo import LRU


def test_keeps_the_most_recently_used_up_to_its_size():
    m: LRU[int] = LRU(2)
    m.put("a", 1)
    m.put("b", 2)
    assert m.get("a") == 1  # "a" is now the most recent
    m.put("c", 3)  # forgets "b", the least recently used
    assert (m.get("a"), m.get("b"), m.get("c")) == (1, None, 3)
    assert m.put("a", 4) == 4 and m.get("a") == 4
