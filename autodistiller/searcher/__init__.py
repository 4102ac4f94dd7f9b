"""The search service: YAML spaces, the Ray Tune trainable, and ``search()`` (Ray is imported lazily)."""

from __future__ import annotations

from typing import Any

from autodistiller.searcher._space import (
    Parameter,
    SearchSpace,
    load_points,
    load_space,
    shipped_space,
    space_from_dict,
)

__all__ = ["Parameter", "SearchInterrupted", "SearchSpace", "default_storage", "fresh_candidates", "load_points", "load_space", "shipped_space", "space_from_dict",
           "search", "parse_duration"]


def search(*args: Any, **kwargs: Any) -> Any:
    """See :func:`autodistiller.searcher._tuner.search`."""
    from autodistiller.searcher._tuner import search as _search

    return _search(*args, **kwargs)


def fresh_candidates(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """See :func:`autodistiller.searcher._candidates.fresh_candidates` (imports the recommender: lazily)."""
    from autodistiller.searcher._candidates import fresh_candidates as _fresh

    return _fresh(*args, **kwargs)


def parse_duration(text: Any) -> float | None:
    from autodistiller.searcher._tuner import parse_duration as _parse

    return _parse(text)


def default_storage() -> str:
    """Where searches keep their experiments and rows unless told: ``./runs``."""
    from autodistiller.searcher._tuner import default_storage as _default

    return _default()


def __getattr__(name: str) -> Any:
    if name == "SearchInterrupted":  # defined next to the Ray callback: import Ray only when asked
        from autodistiller.searcher._interrupt import SearchInterrupted

        return SearchInterrupted
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
