"""Real searches on an embedded Ray: every trial trains a tiny student for real and becomes one Parquet row."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from autodistiller import ConfigError
from autodistiller import meta_dataset as md
from autodistiller.searcher import parse_duration, search, space_from_dict

SPACE = {
    "parameters": {
        "loss.kind": {"choices": ["kl", "mse", "annealing"]},
        "loss.temperature": {"low": 1.0, "high": 4.0, "log": True},
        "student.layers": {"choices": [1, 2, 8]},  # the tiny teacher has 4 layers: 8 must fail
        "training.learning_rate": {"low": 5e-4, "high": 3e-3, "log": True},
        "training.epochs": 3, "training.batch_size": 8, "training.max_length": 32, "training.warmup_ratio": 0.0,
    },
}


@pytest.fixture(scope="module")
def space():
    return space_from_dict(SPACE)


def test_search_logs_every_trial_including_a_failed_one(tmp_path, tiny_task, tiny_teacher, space):
    outcome = search(tiny_task, space, trials=4, max_concurrent=2, storage=str(tmp_path / "runs"), name="exp",
                     teacher=tiny_teacher, seed=3, verbose=0, log=lambda _: None,
                     points_to_evaluate=[{"loss.kind": "kl", "student.layers": 8, "training.learning_rate": 1e-3},
                                         {"loss.kind": "mse", "student.layers": 2, "training.learning_rate": 1e-3}])
    grid, frame = outcome
    assert len(grid) == 4 and len(frame) == 4 and frame["trial_id"].is_unique
    assert set(frame["status"]) <= {"completed", "early_stopped", "failed"}
    failed = frame[frame["status"] == "failed"]
    assert len(failed) >= 1
    assert failed["error"].str.contains("student.layers=8 exceeds the 4 layers").all()
    assert (failed["student.layers"] == 8).all()
    done = frame[frame["status"] == "completed"]
    assert len(done) >= 1
    assert done["student_test_score"].notna().all() and (done["student_params"] > 0).all()
    assert (done["dev_score_history"].map(len) == done["epochs_run"]).all()
    # experiment-wide columns: task, meta-features, provenance
    assert (frame["task"] == tiny_task.name).all() and (frame["mf.train_size"] == 128).all()
    assert (frame["mf.teacher_dev_score"] == tiny_teacher.dev_score).all()
    assert frame["autodistiller_version"].notna().all() and (frame["trial_cpus"] == 1.0).all()
    assert done["hostname"].notna().all() and (done["cpu_count"] >= 1).all()
    # the best pipeline and its student are saved
    best = outcome.best_row
    assert best["student_dev_score"] == done["student_dev_score"].max()
    assert (tmp_path / "runs" / "exp" / "best" / "pipeline.yaml").is_file()
    assert (tmp_path / "runs" / "exp" / "best" / "student" / "config.json").is_file()
    # the split's row ids are in the experiment folder; the TF-IDF baseline is beside the teacher and the student
    split = json.loads((tmp_path / "runs" / "exp" / "split.json").read_text())
    assert split["method"] == "stratified" and split["seed"] == 13
    assert {name: entry["rows"] for name, entry in split["splits"].items()} == tiny_task.card.rows
    assert outcome.baseline.dev_score == frame["mf.landmark_tfidf_dev_score"].iloc[0]
    assert "  TF-IDF baseline: " in outcome.summary() and "  best student:    " in outcome.summary()
    # rows default to <storage>/meta_dataset and validate
    assert outcome.meta_dataset == str(tmp_path / "runs" / "meta_dataset")
    assert md.validate(outcome.meta_dataset).ok
    with pytest.raises(ConfigError, match="already exists: pass --resume"):
        search(tiny_task, space, trials=1, storage=str(tmp_path / "runs"), name="exp", teacher=tiny_teacher)


def test_a_trial_past_its_time_limit_stops_and_keeps_its_row(tmp_path, tiny_task, tiny_teacher, space):
    """--trial-time-limit: each trial stops at its first epoch report past the limit (here: the first), keeps an
    early_stopped row with that epoch's dev score, and the search runs every trial."""
    _, frame = search(tiny_task, space, trials=2, max_concurrent=1, storage=str(tmp_path / "runs"), name="capped",
                      teacher=tiny_teacher, scheduler="fifo", trial_time_limit="0.001s", verbose=0,
                      log=lambda _: None,
                      points_to_evaluate=[{"loss.kind": "kl", "student.layers": 2, "training.learning_rate": 1e-3},
                                          {"loss.kind": "mse", "student.layers": 1, "training.learning_rate": 1e-3}])
    assert len(frame) == 2 and (frame["status"] == "early_stopped").all()
    assert (frame["epochs_run"] == 1).all() and (frame["training.epochs"] == 3).all()
    assert frame["student_dev_score"].notna().all()


_INTERRUPTED = textwrap.dedent("""
    import sys
    from autodistiller.searcher import search, space_from_dict
    from autodistiller.testing import tiny_task, tiny_teacher
    task = tiny_task(sys.argv[1], rows=160)
    teacher = tiny_teacher(sys.argv[1], task)
    space = space_from_dict({space!r})
    search(task, space, trials=4, max_concurrent=1, storage=sys.argv[2], name="resumable", teacher=teacher,
           scheduler="fifo", verbose=0, seed=5)
""")


def test_interrupted_search_resumes_without_losing_or_duplicating_rows(tmp_path, tiny_dir, tiny_task, tiny_teacher,
                                                                       space):
    storage = tmp_path / "runs"
    rows_root = storage / "meta_dataset"
    small = {**SPACE, "parameters": {**SPACE["parameters"], "student.layers": {"choices": [1, 2]}}}
    script = _INTERRUPTED.replace("{space!r}", repr(small))
    proc = subprocess.Popen([sys.executable, "-c", script, str(tiny_dir), str(storage)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not md.list_files(rows_root):
        if proc.poll() is not None:
            pytest.fail(f"the search ended before it was interrupted: {proc.stderr.read()[-2000:]}")
        time.sleep(0.5)
    assert md.list_files(rows_root), "no trial finished in time"
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
    before = md.load(rows_root)
    assert 1 <= len(before) < 4
    finished_before = before[before["status"] == "completed"]

    outcome = search(tiny_task, space_from_dict(small), trials=4, storage=str(storage), name="resumable",
                     resume=True, teacher=tiny_teacher, verbose=0, log=lambda _: None)
    after = outcome.trials
    assert len(after) == 4 and after["trial_id"].is_unique
    assert len(md.list_files(rows_root)) == 4  # one file per trial, none written twice
    # nothing logged before the interrupt is lost: those trials keep one row each, still completed, same pipeline
    # (a trial that ended within Tune's last state snapshot window may be re-run on restore; its row is then
    # replaced in place, never added twice)
    kept = after.set_index("trial_id").loc[finished_before["trial_id"]]
    assert (kept["status"] == "completed").all()
    keys = ["loss.kind", "student.layers", "training.learning_rate"]
    pd.testing.assert_frame_equal(kept[keys], finished_before.set_index("trial_id")[keys])
    assert (after["status"] == "completed").sum() >= len(finished_before)


def test_resume_needs_an_existing_experiment(tmp_path, tiny_task, tiny_teacher, space):
    with pytest.raises(ConfigError, match="needs the name"):
        search(tiny_task, space, resume=True, storage=str(tmp_path), teacher=tiny_teacher)
    with pytest.raises(ConfigError, match="nothing to resume"):
        search(tiny_task, space, resume=True, name="nope", storage=str(tmp_path), teacher=tiny_teacher)


def test_bad_search_arguments_fail_before_work(tmp_path, tiny_task, space):
    with pytest.raises(ConfigError, match="trials=0"):
        search(tiny_task, space, trials=0)
    with pytest.raises(ConfigError, match="lies outside"):
        search(tiny_task, space, points_to_evaluate=[{"student.layers": 5}])
    with pytest.raises(ConfigError, match="time budget 'soon'"):
        search(tiny_task, space, time_budget="soon")


def test_parse_duration():
    assert parse_duration("90s") == 90 and parse_duration("10m") == 600 and parse_duration("1.5h") == 5400
    assert parse_duration("45") == 45 and parse_duration(None) is None


@pytest.mark.parametrize(("address", "message"), [
    ("127.0.0.1:1", "cannot reach the Ray cluster at '127.0.0.1:1'"),
    ("ray://127.0.0.1:1", "cannot reach the Ray cluster"),
    ("nonsense", "must look like host:port"),
])
def test_unreachable_cluster_fails_fast_before_the_teacher(tmp_path, tiny_task, space, address, message):
    started = time.time()
    with pytest.raises(ConfigError, match=message):
        search(tiny_task, space, address=address, storage=str(tmp_path))  # no teacher given: would fine-tune one
    assert time.time() - started < 15


def test_a_row_the_meta_dataset_refuses_is_kept_and_reported(tmp_path, tiny_dir, tiny_task, tiny_teacher, monkeypatch,
                                                            capsys):
    """The first trial's row cannot be written (a storage outage): the search finishes every trial, the row is
    in <storage>/<name>/unwritten_rows/, the result counts it, and the command exits 1 saying where it is."""
    import yaml

    from autodistiller.cli import main
    from autodistiller.searcher import _logger

    rows = tmp_path / "rows"
    failing: list[str] = []
    real = md.write_row

    def write_row(root, task, row):
        if str(root) == str(rows) and failing in ([], [row["trial_id"]]):
            failing[:] = [row["trial_id"]]
            raise OSError(5, "Input/output error")
        return real(root, task, row)

    monkeypatch.setattr(_logger, "write_row", write_row)
    monkeypatch.setattr(_logger.MetaDatasetLogger, "retry_backoff_s", 0.01)
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump({"parameters": {**SPACE["parameters"], "student.layers": 1,
                                                    "loss.kind": {"choices": ["kl", "mse"]}}}))
    code = main(["search", "--task", str(tiny_dir / "tiny.csv"), "--teacher-dir", str(tiny_teacher.path),
                 "--space", str(space), "--trials", "2", "--max-concurrent", "1", "--scheduler", "fifo",
                 "--storage", str(tmp_path / "runs"), "--name", "exp", "--meta-dataset", str(rows)])
    out, err = capsys.readouterr()
    assert code == 1, err[-3000:]
    kept = tmp_path / "runs" / "exp" / "unwritten_rows" / f"task={tiny_task.name}" / f"exp__{failing[0]}.parquet"
    assert f"error: 1 trial row(s) could not be written to {rows} and were kept in:\n  {kept}" in err
    assert "2 trials logged" in out and "best pipeline" in out  # the kept row counts, the search finished
    # the live table: sampled parameters per trial, dev scores, the best so far (Ray's own table: names, states)
    assert "best so far: dev_score " in out and "loss.kind" in out
    table = out[out.index("best so far: dev_score"):].splitlines()
    header = table[2].split()
    assert header[:6] == ["trial", "state", "epoch", "dev", "best", "dev"] and "loss.kind" in header
    assert table[3].split()[header.index("loss.kind") - 1] in ("kl", "mse")  # "best dev" is one column
    # the best pipeline as the parameters that applied: mse reads no temperature, kl does
    best = out[out.index("best pipeline"):].splitlines()
    printed = dict(line.split(": ", 1) for line in best[1:] if ": " in line and not line.startswith("saved to"))
    assert printed["student.layers"] == "1" and printed["loss.kind"] in ("kl", "mse")
    assert ("loss.temperature" in printed) == (printed["loss.kind"] == "kl") and "augment.eda_sr" not in printed
    assert md.load(rows)["trial_id"].tolist() != [failing[0]] and len(md.load(rows)) == 1
    assert md.load(kept.parents[1])["trial_id"].tolist() == failing
