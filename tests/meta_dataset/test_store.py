import datetime as dt
import os

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from autodistiller import PipelineConfig
from autodistiller import meta_dataset as md

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)


def _row(trial, status="completed", score=0.5, **extra):
    return {"experiment_id": "exp", "trial_id": trial, "status": status, "ended_at": NOW, "started_at": NOW,
            "student_dev_score": score, **PipelineConfig().to_flat(), **extra}


def test_rows_round_trip_through_pandas_pyarrow_and_duckdb(tmp_path):
    md.write_row(tmp_path, "trec6", _row("t1", score=0.7, dev_score_history=[0.5, 0.7]))
    md.write_row(tmp_path, "trec6", _row("t2", "failed", score=None, error="ValueError: boom"))
    md.write_row(tmp_path, "sms_spam", _row("t3", "early_stopped", score=0.6))
    frame = md.load(tmp_path)
    assert sorted(frame["trial_id"]) == ["t1", "t2", "t3"]
    assert frame.set_index("trial_id").loc["t2", "error"] == "ValueError: boom"
    assert frame.set_index("trial_id").loc["t1", "dev_score_history"].tolist() == [0.5, 0.7]
    assert md.load(tmp_path, filters={"task": "trec6", "status": "completed"})["trial_id"].tolist() == ["t1"]
    assert len(pd.read_parquet(tmp_path)) == 3
    assert ds.dataset(tmp_path, partitioning="hive").to_table().num_rows == 3
    got = duckdb.sql(f"select task, count(*) from read_parquet('{tmp_path}/**/*.parquet', hive_partitioning=true, "
                     "union_by_name=true) group by task order by task").fetchall()
    assert got == [("sms_spam", 1), ("trec6", 2)]
    assert md.validate(tmp_path).ok


def test_rewriting_a_trial_replaces_its_row_and_leaves_no_temp_files(tmp_path):
    md.write_row(tmp_path, "trec6", _row("t1", "early_stopped", score=0.4))
    md.write_row(tmp_path, "trec6", _row("t1", "completed", score=0.8))
    frame = md.load(tmp_path)
    assert len(frame) == 1 and frame["status"].item() == "completed"
    assert [p.name for p in (tmp_path / "task=trec6").iterdir()] == ["exp__t1.parquet"]


def test_bad_rows_are_refused(tmp_path):
    with pytest.raises(md.MetaDatasetError, match="not in schema"):
        md.write_row(tmp_path, "trec6", _row("t1", bogus=1))
    with pytest.raises(md.MetaDatasetError, match="status='done'"):
        md.write_row(tmp_path, "trec6", _row("t1", "done"))
    with pytest.raises(md.MetaDatasetError, match="does not fit"):
        md.write_row(tmp_path, "trec6", _row("t1", score="high"))
    assert md.list_files(tmp_path) == []


def test_validation_catches_bad_files(tmp_path):
    md.write_row(tmp_path, "trec6", _row("t1"))
    bad_dir = tmp_path / "task=trec6"
    pq.write_table(pa.table({"experiment_id": ["x"], "student_dev_score": ["0.5"]}), bad_dir / "bad.parquet")
    (bad_dir / "broken.parquet").write_bytes(b"not parquet")
    report = md.validate(tmp_path)
    text = "\n".join(report.problems)
    assert "bad.parquet: no autodistiller.schema_version" in text
    assert "required column 'trial_id' is missing" in text
    assert "column 'student_dev_score' is string, expected double" in text
    assert "broken.parquet: not a readable Parquet file" in text
    with pytest.raises(md.MetaDatasetError, match="problem"):
        md.load(tmp_path)


def test_bad_files_are_refused_by_default_with_how_to_move_them_aside(tmp_path):
    md.write_row(tmp_path, "trec6", _row("t1", score=0.7))
    broken = tmp_path / "task=trec6" / "exp__t2.parquet"
    broken.write_bytes(b"PAR1 truncated")
    with pytest.raises(md.MetaDatasetError) as info:
        md.load(tmp_path)
    message = str(info.value)
    assert f"{broken}: not a readable Parquet file" in message
    assert f"mkdir -p {tmp_path}/_unreadable && mv {broken} {tmp_path}/_unreadable/" in message
    assert "on_bad_files='skip'" in message and "--skip-bad-files" in message
    # followed, the advice works: a file under _unreadable/ is never read
    (tmp_path / "_unreadable").mkdir()
    broken.rename(tmp_path / "_unreadable" / broken.name)
    assert md.load(tmp_path)["trial_id"].tolist() == ["t1"]


def test_skipping_bad_files_reads_the_rest_and_lists_them(tmp_path):
    md.write_row(tmp_path, "trec6", _row("t1", score=0.7))
    md.write_row(tmp_path, "trec6", _row("t2", score=0.8))
    broken = tmp_path / "task=trec6" / "broken.parquet"
    broken.write_bytes(b"not parquet")
    odd = md.write_row(tmp_path, "sms_spam", _row("t3"))
    table = pq.read_table(odd)  # a readable file whose status is not one of ours
    pq.write_table(table.set_column(table.schema.get_field_index("status"), "status", pa.array(["done"])), odd)
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable file\(s\)") as caught:
        frame = md.load(tmp_path, on_bad_files="skip")
    assert sorted(frame["trial_id"]) == ["t1", "t2"]
    assert sorted(frame.attrs["skipped_files"]) == sorted([str(broken), odd])
    assert str(broken) in str(caught[0].message)
    with pytest.raises(md.MetaDatasetError, match="unknown status value 'done'"):
        md.load(tmp_path)
    with pytest.raises(ValueError, match="on_bad_files='ignore' must be one of"):
        md.load(tmp_path, on_bad_files="ignore")


def test_newer_schema_version_is_refused(tmp_path):
    path = md.write_row(tmp_path, "trec6", _row("t1"))
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({md.meta_dataset_schema().metadata and b"autodistiller."
                                                  b"schema_version": b"99"}), path)
    assert "newer than this AutoDistiller" in "\n".join(md.validate(tmp_path).problems)


def test_compact_merges_partitions_without_losing_rows(tmp_path):
    for i in range(5):
        md.write_row(tmp_path, "trec6", _row(f"t{i}", score=i / 10))
    md.write_row(tmp_path, "sms_spam", _row("s0"))
    before = md.load(tmp_path).sort_values("trial_id").reset_index(drop=True)
    assert md.compact(tmp_path) == {"trec6": 5}
    assert len(os.listdir(tmp_path / "task=trec6")) == 1
    after = md.load(tmp_path).sort_values("trial_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after, check_categorical=False)
    # a trial rewritten after compaction is still read once, as its newest row
    md.write_row(tmp_path, "trec6", _row("t1", score=0.99, ended_at=NOW + dt.timedelta(minutes=1)))
    frame = md.load(tmp_path)
    assert len(frame) == 6 and frame.set_index("trial_id").loc["t1", "student_dev_score"] == 0.99


def test_empty_meta_dataset(tmp_path):
    frame = md.load(tmp_path / "nothing")
    assert len(frame) == 0 and "student_dev_score" in frame.columns


def test_uri_roots_go_through_pyarrow_filesystems(tmp_path):
    root = f"file://{tmp_path}/rows"
    path = md.write_row(root, "trec6", _row("t1", score=0.75))
    assert path.endswith("task=trec6/exp__t1.parquet") and (tmp_path / "rows" / "task=trec6").is_dir()
    frame = md.load(root)
    assert frame["student_dev_score"].tolist() == [0.75] and md.validate(root).ok


def test_every_reader_sees_every_column_of_a_search_without_options(tmp_path, tiny_task, tiny_teacher):
    """Rows as a search's logger writes them (the search's context + what each trial reported): an early-stopped
    trial that reported a few columns, a failed one that reported none, a completed one. pandas, pyarrow and
    DuckDB read the folder as it is (no union_by_name, no schema) and all see every column, whichever file comes
    first."""
    import time

    from autodistiller.recommend import task_features

    context = {"task_family": "tiny", "task_type": "single", "teacher_backbone": "tiny-bert", "trial_cpus": 1.0,
               "trial_gpus": 0.0, **task_features(tiny_task, tiny_teacher, cache_dir=tmp_path)}
    stopped = {"student.layers": 2, "loss.kind": "kl", "student_dev_score": 0.6, "dev_score_history": [0.6],
               "stopped_by": "scheduler", "started_at": time.time() - 5}
    completed = {**PipelineConfig().to_flat(), "pipeline_resolved": True, "metric": "accuracy",
                 "student_dev_score": 0.9, "student_test_score": 0.88, "teacher_dev_score": 0.95,
                 "student_params": 1000, "latency_ms": 1.5, "epochs_run": 3, "dev_score_history": [0.7, 0.8, 0.9],
                 "started_at": time.time() - 9}
    root = tmp_path / "meta_dataset"
    for trial, status, columns, error in (("a_stopped", "early_stopped", stopped, None),
                                          ("b_failed", "failed", {}, "ValueError: boom"),
                                          ("c_done", "completed", completed, None)):
        row = md.trial_row(experiment_id="exp", trial_id=trial, status=status, columns=columns, context=context,
                           ended_at=time.time(), error=error, attempts=1)
        md.write_row(root, tiny_task.name, row)
    every = set(md.meta_dataset_schema(with_partition=True).names)

    frame = pd.read_parquet(root)
    assert set(frame.columns) == every and len(frame) == 3
    table = ds.dataset(root, partitioning="hive").to_table()
    assert set(table.column_names) == every and table.num_rows == 3
    relation = duckdb.sql(f"select * from read_parquet('{root}/**/*.parquet', hive_partitioning=true)")
    assert set(relation.columns) == every and len(relation.fetchall()) == 3
    scores = duckdb.sql(f"select trial_id, student_test_score, \"mf.landmark_tfidf_dev_score\" from "
                        f"read_parquet('{root}/**/*.parquet', hive_partitioning=true) order by trial_id").fetchall()
    landmark = context["mf.landmark_tfidf_dev_score"]
    assert scores == [("a_stopped", None, landmark), ("b_failed", None, landmark), ("c_done", 0.88, landmark)]
