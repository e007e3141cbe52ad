"""Detection → SPL → Splunk configuration files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smguard.compile.search import CompiledSearch, CompileError, compile_raw, compile_structured

if TYPE_CHECKING:
    from smguard.model import Pack
    from smguard.model.entities import Detection

__all__ = ["CompileError", "CompiledSearch", "compile_detection", "detection_search"]


def compile_detection(det: Detection, base_macro: str) -> CompiledSearch:
    """The detection's SPL (macros unexpanded) plus its output fields and references."""
    if det.is_raw:
        return compile_raw(det.search)
    return compile_structured(det.search, base_macro=base_macro, filter_macro=det.filter_macro)


def detection_search(det: Detection, pack: Pack) -> str:
    """The SPL that ships in savedsearches.conf for ``det``."""
    return pack.compiled(det).spl
