"""A Tune callback on the driver that writes one meta-dataset row per finished trial."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ray.tune import Callback

from autodistiller.meta_dataset import STATIC_REPORT_KEYS, MetaDatasetError, trial_row, write_row
from autodistiller.searcher._faults import trial_attempts
from autodistiller.searcher._interrupt import live_search
from autodistiller.searcher._trainable import FINISHED_KEY, ROW_KEY

__all__ = ["MetaDatasetLogger", "error_text", "trial_columns", "trial_status"]

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


#: the pipeline columns of a trial that never reported: (its sampled config) -> (flat pipeline, resolved?)
DescribePipeline = Callable[[Mapping[str, Any]], tuple[dict[str, Any], bool]]


def _sampled(config: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Without the running search (no teacher to resolve with): the sampled values as they are."""
    return {k: v for k, v in config.items() if "." in k}, False


def trial_columns(last_result: Mapping[str, Any] | None, config: Mapping[str, Any], describe: DescribePipeline
                  ) -> dict[str, Any]:
    """What the trial recorded about itself in its last report; for a trial that never reported, its pipeline
    as the driver resolves it from the sampled config."""
    last = last_result or {}
    if last.get(ROW_KEY):
        return json.loads(last[ROW_KEY])
    pipeline, resolved = describe(config)
    return {**pipeline, "pipeline_resolved": resolved,
            **{key: last[key] for key in STATIC_REPORT_KEYS if last.get(key) is not None}}


def trial_status(last_result: Mapping[str, Any] | None, error: str | None, *, interrupted: bool = False) -> str:
    """``failed`` with an error; ``completed`` when the last report says the trial finished; ``interrupted``
    when the search was interrupted while it ran; otherwise the scheduler or the time budget stopped it:
    ``early_stopped``."""
    if error:
        return "failed"
    if (last_result or {}).get(FINISHED_KEY):
        return "completed"
    return "interrupted" if interrupted else "early_stopped"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _wait(seconds: float) -> None:  # the retries' backoff (tests replace it, not the process-wide time.sleep)
    time.sleep(seconds)


class MetaDatasetLogger(Callback):
    """Writes the row of each trial as it completes, stops early or fails (on the driver, so a trial killed
    by its scheduler, a lost worker or an out-of-memory still gets its row).

    A write that fails (a full disk, a storage outage) is tried ``write_attempts`` times, ``retry_backoff_s``
    apart and doubling; then the row goes to the first of ``fallback_roots`` that takes it (a meta-dataset of
    the same layout), and the search goes on. ``search`` reports such rows at its end.
    """

    write_attempts = 4
    retry_backoff_s = 1.0
    #: class-level defaults: a logger pickled into an experiment before these existed still resumes
    fallback_roots: tuple[str, ...] = ()

    def __init__(self, root: str, experiment_id: str, task_name: str, context: Mapping[str, Any], *,
                 fallback_roots: Sequence[str] = ()) -> None:
        self.root = root
        self.experiment_id = experiment_id
        self.task_name = task_name
        self.context = dict(context)
        self.fallback_roots = tuple(fallback_roots)
        self._recovered: dict[str, int] = {}  # retries after a failure (e.g. a lost node), per trial
        self.written: set[str] = set()

    def write(self, trial_id: str, config: Mapping[str, Any], last_result: Mapping[str, Any] | None,
              error: str | None, *, attempts: int | None = None) -> None:
        live = live_search(self.experiment_id)
        status = trial_status(last_result, error, interrupted=live is not None and live.interrupted)
        columns = trial_columns(last_result, config, live.describe if live is not None else _sampled)
        if status == "early_stopped":
            columns["stopped_by"] = "scheduler"
        row = trial_row(experiment_id=self.experiment_id, trial_id=trial_id, status=status, columns=columns,
                        context=self.context, ended_at=time.time(), error=error, attempts=attempts)
        self._write(trial_id, row)
        self.written.add(trial_id)

    def _write(self, trial_id: str, row: Mapping[str, Any]) -> str | None:
        """Write ``row`` to the meta-dataset, retrying, else to a fallback root; returns the file written."""
        failure: Exception | None = None
        for attempt in range(max(1, self.write_attempts)):
            if attempt:
                _wait(self.retry_backoff_s * 2 ** (attempt - 1))
            try:
                return write_row(self.root, self.task_name, row)
            except MetaDatasetError:  # the row itself does not fit the schema: no retry can help
                raise
            except Exception as exc:  # the storage's errors: OSError, pyarrow's, a cloud SDK's
                failure = exc
        problem = (f"meta-dataset: trial {trial_id}'s row could not be written to {self.root} "
                   f"({self.write_attempts} tries; {type(failure).__name__}: {failure})")
        for fallback in self.fallback_roots:
            try:
                path = write_row(fallback, self.task_name, row)
            except Exception:
                continue
            _say(f"{problem}; kept in {path}. The search goes on.")
            return path
        _say(f"{problem}, nor to {', '.join(self.fallback_roots) or 'a fallback location'}; the row follows:\n"
             f"{json.dumps(dict(row), default=str)}")
        return None

    def _attempts(self, trial: Any, errored: bool) -> int:
        return trial_attempts(trial, self._recovered.get(trial.trial_id, 0), errored=errored)

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        """A failed trial will run again (no row yet): count the retry."""
        self._recovered[trial.trial_id] = self._recovered.get(trial.trial_id, 0) + 1

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.write(trial.trial_id, trial.config, trial.last_result, None, attempts=self._attempts(trial, False))

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        error = error_text(getattr(trial, "error_file", None), _trial_error(trial))
        self.write(trial.trial_id, trial.config, trial.last_result, error, attempts=self._attempts(trial, True))
