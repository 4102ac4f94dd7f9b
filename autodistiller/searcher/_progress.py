"""The live table of a search: each trial's sampled parameters, epoch and dev score, and the best so far.

Ray Tune's own table (its new output engine, the default in Ray 2.x) shows trial names and states only when
the space is define-by-run: it reads the parameters from a ``param_space`` this search does not have, and it
ignores a ``progress_reporter``. This driver-side callback prints what a user watches instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ray.tune import Callback

from autodistiller.searcher._trainable import FINISHED_KEY

__all__ = ["SearchProgress", "progress_table"]

_STATES = {"PENDING": "pending", "RUNNING": "running", "PAUSED": "paused", "ERROR": "failed"}
_ORDER = {"running": 0, "paused": 1, "completed": 2, "stopped": 3, "failed": 4, "pending": 5}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _state(trial: Any) -> str:
    if trial.status == "TERMINATED":
        return "completed" if (trial.last_result or {}).get(FINISHED_KEY) else "stopped"
    return _STATES.get(trial.status, str(trial.status).lower())


def _best(trials: Sequence[Any], metric: str) -> tuple[Any, float] | None:
    scored = [(t, (t.last_result or {}).get(f"best_{metric}", (t.last_result or {}).get(metric))) for t in trials]
    scored = [(t, float(s)) for t, s in scored if s is not None]
    return max(scored, key=lambda pair: pair[1]) if scored else None


def progress_table(trials: Sequence[Any], parameters: Sequence[str], *, metric: str = "dev_score",
                   max_rows: int = 15) -> str:
    """The table: a "best so far" line, then one row per trial (running first, then the best finished ones):
    state, epoch, last and best dev score, and every sampled parameter (``-``: inactive for that trial)."""
    lines = []
    best = _best(trials, metric)
    if best is not None:
        trial, score = best
        active = ", ".join(f"{key}={_cell(trial.config[key])}" for key in parameters if key in trial.config)
        lines.append(f"best so far: {metric} {score:.4f} (trial {trial.trial_id}): {active}")
    counts: dict[str, int] = {}
    for trial in trials:
        counts[_state(trial)] = counts.get(_state(trial), 0) + 1
    lines.append(f"{len(trials)} trials: " + ", ".join(f"{n} {state}" for state, n in
                                                       sorted(counts.items(), key=lambda kv: _ORDER.get(kv[0], 9))))

    def rank(trial: Any) -> tuple[int, float]:
        result = trial.last_result or {}
        return _ORDER.get(_state(trial), 9), -float(result.get(f"best_{metric}", result.get(metric)) or -1e9)

    shown = sorted(trials, key=rank)[:max_rows]
    header = ["trial", "state", "epoch", "dev", "best dev", *parameters]
    rows = []
    for trial in shown:
        result = trial.last_result or {}
        rows.append([str(trial.trial_id), _state(trial), _cell(result.get("epoch")), _cell(result.get(metric)),
                     _cell(result.get(f"best_{metric}")), *(_cell(trial.config.get(key)) for key in parameters)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
              for row in [header, *rows]]
    if len(trials) > len(shown):
        lines.append(f"... and {len(trials) - len(shown)} more")
    return "\n".join(lines)


class SearchProgress(Callback):
    """Prints :func:`progress_table` every ``interval_s`` seconds while something changed, a line when a trial
    ends (its score and the best so far), and the table at the end. ``parameters``: the sampled keys."""

    def __init__(self, parameters: Sequence[str], *, metric: str = "dev_score", interval_s: float = 30.0,
                 max_rows: int = 15, out: Callable[[str], None] = print) -> None:
        self.parameters = list(parameters)
        self.metric = metric
        self.interval_s = interval_s
        self.max_rows = max_rows
        self.out = out
        self._last: float | None = None  # never printed: the first table comes at once (monotonic() may be small)
        self._changed = False

    def _print_table(self, trials: Sequence[Any]) -> None:
        self._last = time.monotonic()
        self._changed = False
        self.out(progress_table(trials, self.parameters, metric=self.metric, max_rows=self.max_rows))

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: Mapping[str, Any],
                        **info: Any) -> None:
        self._changed = True

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        best = _best(trials, self.metric)
        ended = "completed" if result.get(FINISHED_KEY) else "stopped early"
        score = result.get(f"best_{self.metric}", result.get(self.metric))
        self.out(f"trial {trial.trial_id} {ended} after {result.get('epoch', 0)} epochs: {self.metric} "
                 f"{_cell(score)}" + (f"; best so far {best[1]:.4f} (trial {best[0].trial_id})" if best else ""))
        self._changed = True

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.out(f"trial {trial.trial_id} failed (its row says why)")
        self._changed = True

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self._changed and (self._last is None or time.monotonic() - self._last >= self.interval_s):
            self._print_table(trials)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        if trials:
            self._print_table(trials)
