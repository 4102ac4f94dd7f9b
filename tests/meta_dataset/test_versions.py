"""Rows of schema version 1 (written by AutoDistiller before the plan existed) still load, upgraded."""

from pathlib import Path

import pandas as pd

from autodistiller import meta_dataset

V1 = Path(__file__).parent / "data" / "v1"


def test_version_1_rows_load_upgraded():
    assert meta_dataset.validate(V1).ok
    frame = meta_dataset.load(V1).set_index("trial_id")
    assert (frame["schema_version"] == 1).all() and not frame["pipeline_resolved"].any()
    # annealing_mate fixed its loss and policy; v1 kept the sampled ones (mse, none): upgraded to what ran
    mate = frame.loc["t1"]
    assert mate["loss.kind"] == "annealing" and mate["augment.policy"] == "mate"
    assert pd.isna(mate["loss.alpha"]) and mate["loss.tau_max"] == 10.0  # annealing reads tau_max only
    assert mate["augment.mate_mask_p"] == 0.3 and pd.isna(mate["augment.mix_alpha"])
    # inactive parameters become null, active ones keep their values
    kl = frame.loc["t3"]
    assert kl["loss.temperature"] == 3.0 and kl["augment.aug_p"] == 0.1 and pd.isna(kl["augment.mlm"])
    assert pd.isna(frame.loc["t2", "loss.temperature"]) and frame.loc["t2", "student.layers"] == 8
    assert frame.loc["t2", "status"] == "failed"


def test_version_1_and_2_rows_load_together(tmp_path):
    import shutil

    shutil.copytree(V1, tmp_path, dirs_exist_ok=True)
    meta_dataset.write_row(tmp_path, "trec6", {"experiment_id": "v2exp", "trial_id": "n1", "status": "completed",
                                               "ended_at": pd.Timestamp.now(tz="UTC"), "loss.kind": "mse",
                                               "pipeline_resolved": True, "speedup": 3.0})
    frame = meta_dataset.load(tmp_path)
    assert len(frame) == 4 and set(frame["schema_version"]) == {1, 2}
    assert frame.set_index("trial_id").loc["n1", "speedup"] == 3.0


def test_the_shipped_meta_dataset_is_found_inside_the_package_and_validates():
    from autodistiller import meta_dataset

    path = meta_dataset.shipped_path()
    assert path.parent.name == "meta_dataset" and (path / "README.md").is_file()
    assert (path / "portfolio.yaml").is_file()
    report = meta_dataset.validate(path)
    assert report.ok, report.problems[:3]
    frame = meta_dataset.load()  # no path: the shipped one
    assert len(frame) == report.rows


def test_files_beside_the_partitions_are_not_rows(tmp_path):
    import shutil

    from autodistiller import meta_dataset

    shutil.copytree(V1, tmp_path, dirs_exist_ok=True)
    pd.DataFrame({"task": ["trec6"], "mf.num_classes": [6]}).to_parquet(tmp_path / "task_features.parquet")
    assert meta_dataset.validate(tmp_path).ok and len(meta_dataset.load(tmp_path)) == 3


def test_the_shipped_rows_come_with_their_manifest_and_every_tasks_meta_features():
    """The manifest is written from the rows (benchmarks/build_meta_dataset.py): it must count what ships, and
    the recommender needs each shipped task's meta-features."""
    from autodistiller import meta_dataset
    from autodistiller.recommend import load_task_features

    frame = meta_dataset.load(columns=["task", "experiment_id", "trial_id"])
    manifest = meta_dataset.shipped_path() / "MANIFEST.md"
    if frame.empty:
        assert load_task_features() is None or load_task_features().empty
        return
    assert f"- rows: {len(frame)} in {frame['task'].nunique()} tasks" in manifest.read_text()
    assert set(frame["task"]) <= set(load_task_features().index)
    assert not frame.duplicated(["experiment_id", "trial_id"]).any()
