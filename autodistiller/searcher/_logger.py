"""A Tune callback on the driver that writes one meta-dataset row per finished trial."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray.tune import Callback

from autodistiller.meta_dataset import trial_row, write_row
from autodistiller.searcher._faults import trial_attempts

__all__ = ["MetaDatasetLogger", "error_text"]

_MAX_ERROR_CHARS = 4000
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*")


def error_text(error_file: str | None, error: BaseException | None) -> str:
    """A trial's error: the end of its traceback file, else the exception, else a generic note."""
    text = ""
    if error_file and Path(error_file).is_file():
        text = Path(error_file).read_text(errors="replace")
    if not text.strip() and error is not None:
        text = f"{type(error).__name__}: {error}"
    text = _ANSI.sub("", text).strip() or "trial failed (Ray recorded no error message)"
    # the exception line first (what a reader of the table needs), then the end of the traceback
    lines = text.splitlines()
    headline = next((line for line in reversed(lines) if _EXCEPTION_LINE.match(line)), lines[-1])
    return f"{headline}\n{text[-_MAX_ERROR_CHARS:]}" if headline != text else headline


def _trial_error(trial: Any) -> BaseException | None:
    try:
        return trial.get_error()
    except Exception:  # the error file may be gone with a lost node
        return None


class MetaDatasetLogger(Callback):
    """Writes the row of each trial as it completes, stops early or fails (on the driver, so a trial killed
    by its scheduler, a lost worker or an out-of-memory still gets its row)."""

    def __init__(self, root: str, experiment_id: str, task_name: str, context: Mapping[str, Any]) -> None:
        self.root = root
        self.experiment_id = experiment_id
        self.task_name = task_name
        self.context = dict(context)
        self._history: dict[str, list[float]] = {}
        self._recovered: dict[str, int] = {}  # retries after a failure (e.g. a lost node), per trial
        self.written: set[str] = set()

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any) -> None:
        if "epoch_dev_score" in result and not result.get("finished"):
            self._history.setdefault(trial.trial_id, []).append(float(result["epoch_dev_score"]))

    def _write(self, trial: Any, error: str | None) -> None:
        last = trial.last_result or {}
        history = last.get("dev_score_history") or self._history.get(trial.trial_id)
        row = trial_row(experiment_id=self.experiment_id, trial_id=trial.trial_id, config=trial.config,
                        last_result=last, error=error, context=self.context, ended_at=time.time(),
                        history=list(history) if history else None,
                        attempts=trial_attempts(trial, self._recovered.get(trial.trial_id, 0), errored=error is not None))
        write_row(self.root, self.task_name, row)
        self.written.add(trial.trial_id)

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        """A failed trial will run again (no row yet): its epochs start over."""
        self._recovered[trial.trial_id] = self._recovered.get(trial.trial_id, 0) + 1
        self._history.pop(trial.trial_id, None)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._write(trial, None)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._write(trial, error_text(getattr(trial, "error_file", None), _trial_error(trial)))
