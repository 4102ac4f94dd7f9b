"""The analysis commands: report, export-optuna, trials --query / --group-by / --baseline."""

import io

import optuna
import pandas as pd
import pytest

from autodistiller import PipelineConfig
from autodistiller import meta_dataset as md
from autodistiller.cli import main


def test_report_command_writes_one_page_for_the_chosen_tasks(capsys, tmp_path, meta_root):
    out = tmp_path / "r" / "report.html"
    assert main(["report", "--meta-dataset", str(meta_root), "--task", "tiny", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out
    assert "no TF-IDF baseline for 'tiny': not an offline suite task" in captured.err
    text = out.read_text(encoding="utf-8")
    assert 'id="task-tiny"' in text and 'id="task-tiny_regression"' not in text
    assert main(["report", "--meta-dataset", str(meta_root), "--task", "nope", "--out", str(out)]) == 2
    assert "no trials at" in capsys.readouterr().err
    assert main(["report", "--meta-dataset", str(tmp_path / "empty"), "--out", str(out)]) == 2


def test_export_optuna_command(capsys, tmp_path, meta_root):
    db = tmp_path / "study.db"
    args = ["export-optuna", "--meta-dataset", str(meta_root), "--task", "tiny_regression", "--out", str(db)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "study 'tiny_regression-search1': 12 trials" in out and f"sqlite:///{db}" in out
    study = optuna.load_study(study_name="tiny_regression-search1", storage=f"sqlite:///{db}")
    assert len(study.trials) == 12
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_trials_query_and_group_by(capsys, meta_root, meta_frame):
    assert main(["trials", "--meta-dataset", str(meta_root), "--query", "`loss.kind` == 'none'",
                 "--group-by", "task,intermediate.objective", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    chosen = meta_frame[meta_frame["loss.kind"] == "none"]
    expected = chosen.groupby(["task", "intermediate.objective"])
    assert len(table) == expected.ngroups == 6
    merged = table.set_index(["task", "intermediate.objective"])
    for key, group in expected:
        assert merged.loc[key, "trials"] == len(group)
        assert merged.loc[key, "best_dev"] == pytest.approx(group["student_dev_score"].max())
        assert merged.loc[key, "completed"] == (group["status"] == "completed").sum()
    assert list(table["best_dev"]) == sorted(table["best_dev"], reverse=True)
    # a query alone keeps the usual table of trials
    assert main(["trials", "--meta-dataset", str(meta_root), "--query", "status == 'failed'", "--format",
                 "csv", "--top", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "t91" in lines[1]


@pytest.mark.parametrize(("args", "message"), [
    (["--query", "loss.kind == 'kl'"], "backticks"),
    (["--query", "nope > 1"], "--query"),
    (["--group-by", "nope"], "unknown column(s) ['nope']"),
])
def test_trials_bad_query_or_group_is_a_clear_error(capsys, meta_root, args, message):
    assert main(["trials", "--meta-dataset", str(meta_root), *args]) == 2
    assert message in capsys.readouterr().err


def test_null_group_is_its_own_row(capsys, tmp_path, meta_frame):
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    for i, temperature in enumerate([2.0, None, None]):
        md.write_row(tmp_path, "t", {"experiment_id": "e", "trial_id": f"t{i}", "status": "completed", "ended_at": now,
                                     "student_dev_score": 0.5 + i / 10,
                                     **{**PipelineConfig().to_flat(), "loss.temperature": temperature}})
    assert main(["trials", "--meta-dataset", str(tmp_path), "--group-by", "loss.temperature", "--format",
                 "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) == 2 and sorted(table["trials"]) == [1, 2]
    assert table["loss.temperature"].isna().sum() == 1


def test_trials_baseline_beside_teacher_and_student(capsys, tmp_path, trec):
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    md.write_row(tmp_path, "trec6", {"experiment_id": "e", "trial_id": "t0", "status": "completed",
                                     "ended_at": now, "metric": "macro_f1", "student_dev_score": 0.7,
                                     "student_test_score": 0.72, "teacher_dev_score": 0.88,
                                     "teacher_test_score": 0.93, "student_params": 15_600_000,
                                     "teacher_params": 22_700_000, "latency_ms": 3.1, "teacher_latency_ms": 6.0,
                                     **PipelineConfig().to_flat()})
    assert main(["trials", "--meta-dataset", str(tmp_path), "--baseline", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    comparison = pd.read_csv(io.StringIO(out.split("\n\n", 1)[1]))
    assert list(comparison["model"]) == ["teacher", "best student", "tfidf baseline"]
    baseline = comparison.iloc[2]
    assert baseline["metric"] == "macro_f1" and 0.5 < baseline["test_score"] <= 1.0
    assert baseline["size_mb"] > 0 and baseline["latency_ms"] > 0
