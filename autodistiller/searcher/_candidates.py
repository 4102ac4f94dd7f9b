"""Fresh pipelines of a space for the recommender to rank beside the ones the meta-dataset ran. It lives with
the spaces (the searcher imports the recommender, never the other way round)."""

from __future__ import annotations

import os
from typing import Any

from autodistiller.recommend import keeps_teacher_depth
from autodistiller.searcher._space import load_space, shipped_space

__all__ = ["fresh_candidates"]


def fresh_candidates(count: int, *, seed: int = 0, is_regression: bool = False, is_pair: bool = False,
                     compress: bool = False, space: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """``count`` random pipelines of ``space`` (default: the meta-dataset's own, ``distiller_meta``) that a task
    of this kind can run. The seed is left out (not a choice). ``compress``: only students smaller than the
    teacher (drawn from three times as many samples, so that ``count`` remain as a rule)."""
    adapted, _ = load_space(space if space is not None else shipped_space("distiller_meta")).for_task(
        is_regression=is_regression, is_pair=is_pair)
    points = [{k: v for k, v in p.items() if k != "training.seed"}
              for p in adapted.random_points(count * 3 if compress else count, seed=seed)]
    return [p for p in points if not (compress and keeps_teacher_depth(p))][:count]
