"""One bounded memo for results that are pure functions of their key.

Several loaders remember what they computed for a text or a document (YAML parses, valid
schema documents, generator pools): each keeps the most recently used entries up to a
bound, so a long process (the test suite, ``prove``) reuses them without growing without
limit. One small class instead of a hand-written OrderedDict in each place.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    """A mapping that keeps only its ``size`` most recently used keys."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        """The value remembered for ``key`` (now the most recent), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> V:
        """Remember ``value`` for ``key``, forgetting the least recently used past the bound."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value
