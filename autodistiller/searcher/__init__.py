"""The search service: YAML spaces, the Ray Tune trainable, and ``search()`` (Ray is imported lazily)."""

from __future__ import annotations

from typing import Any

from autodistiller.searcher._space import Parameter, SearchSpace, load_space, space_from_dict

__all__ = ["Parameter", "SearchSpace", "load_space", "space_from_dict", "search", "parse_duration"]


def search(*args: Any, **kwargs: Any) -> Any:
    """See :func:`autodistiller.searcher._tuner.search`."""
    from autodistiller.searcher._tuner import search as _search

    return _search(*args, **kwargs)


def parse_duration(text: Any) -> float | None:
    from autodistiller.searcher._tuner import parse_duration as _parse

    return _parse(text)
