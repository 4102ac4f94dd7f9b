"""The driver's row writer: a failed write is retried with backoff, then kept in a fallback location, and
the search goes on."""

from __future__ import annotations

import pytest

from autodistiller import PipelineConfig
from autodistiller import meta_dataset as md
from autodistiller.searcher import _logger
from autodistiller.searcher._logger import MetaDatasetLogger
from autodistiller.searcher._trainable import FINISHED_KEY


@pytest.fixture
def flaky(monkeypatch):
    """``write_row`` failing ``fails[root]`` times for a root (-1: always); the waits between tries recorded."""
    fails: dict[str, int] = {}
    waits: list[float] = []
    real = md.write_row

    def write_row(root, task, row):
        left = fails.get(str(root), 0)
        if left:
            fails[str(root)] = left - 1 if left > 0 else left
            raise OSError(28, "No space left on device")
        return real(root, task, row)

    monkeypatch.setattr(_logger, "write_row", write_row)
    monkeypatch.setattr(_logger, "_wait", waits.append)
    return fails, waits


def _logger_for(tmp_path, **kwargs):
    return MetaDatasetLogger(str(tmp_path / "rows"), "exp", "tiny", {"task_family": "tiny"},
                             fallback_roots=[str(tmp_path / "runs" / "exp" / "unwritten_rows"),
                                             str(tmp_path / "local")], **kwargs)


def _write(logger, trial_id="t1"):
    logger.write(trial_id, {}, {FINISHED_KEY: True, "dev_score": 0.5}, None, attempts=1)


def test_a_failed_write_is_retried_with_backoff(tmp_path, flaky):
    fails, waits = flaky
    logger = _logger_for(tmp_path)
    fails[str(tmp_path / "rows")] = 2
    _write(logger)
    assert waits == [1.0, 2.0]  # two failures, then the third try wrote the row
    assert md.load(tmp_path / "rows")["trial_id"].tolist() == ["t1"]


def test_a_row_that_cannot_be_written_is_kept_in_the_fallback_and_the_search_goes_on(tmp_path, flaky, capsys):
    fails, waits = flaky
    logger = _logger_for(tmp_path)
    fails[str(tmp_path / "rows")] = -1
    _write(logger, "t1")  # no exception: Tune's loop (and the other trials) go on
    assert waits == [1.0, 2.0, 4.0]
    kept = tmp_path / "runs" / "exp" / "unwritten_rows"
    frame = md.load(kept)
    assert frame["trial_id"].tolist() == ["t1"] and frame["status"].item() == "completed"
    err = capsys.readouterr().err
    assert f"trial t1's row could not be written to {tmp_path / 'rows'} (4 tries; OSError" in err
    assert f"kept in {kept}/task=tiny/exp__t1.parquet" in err
    # the experiment's storage failing too: the next fallback, on this machine
    fails[str(kept)] = -1
    _write(logger, "t2")
    assert md.load(tmp_path / "local")["trial_id"].tolist() == ["t2"]
    # nowhere: the row is printed whole, nothing raises
    fails[str(tmp_path / "local")] = -1
    _write(logger, "t3")
    assert '"trial_id": "t3"' in capsys.readouterr().err


def test_a_row_that_does_not_fit_the_schema_is_not_retried(tmp_path, flaky):
    _, waits = flaky
    logger = _logger_for(tmp_path)
    with pytest.raises(md.MetaDatasetError):
        logger._write("t1", {"experiment_id": "exp", "trial_id": "t1", "status": "completed", "bogus": 1,
                             **PipelineConfig().to_flat()})
    assert waits == []
