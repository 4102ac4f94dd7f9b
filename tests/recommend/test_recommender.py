"""The recommender on a small real meta-dataset: fit, recommend under constraints, save / load, evaluate."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from autodistiller.errors import ConfigError
from autodistiller.recommend import (
    METHODS,
    Constraints,
    Recommender,
    RecommenderFileError,
    feature_group_ablation,
    leave_one_family_out,
    recommend,
    summarize,
    training_table,
)


@pytest.fixture(scope="module")
def table(tiny_rows):
    return training_table(tiny_rows)


def test_training_table_normalises_within_each_task(table, tiny_rows):
    assert set(table["task"]) == {"tiny", "tiny_b", "tiny_reg"}
    for _, rows in table.groupby("task"):
        assert rows["target"].between(0, 1).all() and rows["student_dev_score"].nunique() > 2  # real spread
        order = rows.sort_values("student_dev_score")
        assert order["target"].is_monotonic_increasing  # percentiles of the task's own trials, ties shared
        assert order["target"].iloc[-1] == rows["target"].max()
    with pytest.raises(ConfigError, match="no completed trial"):
        training_table(tiny_rows.assign(status="failed"))


@pytest.mark.parametrize("method", METHODS)
def test_every_method_ranks_the_pipelines_it_knows(table, method):
    recommender = Recommender(method).fit(table[table["task"] != "tiny_b"])
    features = table[table["task"] == "tiny_b"].iloc[0].to_dict()
    ranked = recommender.recommend(features, top_k=4)
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1)) and len(ranked) >= 2
    assert ranked["predicted_score"].is_monotonic_decreasing
    assert (ranked["uncertainty"] >= 0).all() and (ranked["predicted_train_seconds"] > 0).all()
    assert {task for task, _ in ranked.attrs["nearest_tasks"]} <= {"tiny", "tiny_reg"}


def test_the_surrogate_ranks_pipelines_it_never_saw(table):
    recommender = Recommender().fit(table)
    features = table.iloc[0].to_dict()
    fresh = [{"loss.kind": "kl", "loss.temperature": 5.0, "student.layers": 3}, {"loss.kind": "annealing"}]
    ranked = recommender.recommend(features, top_k=5, candidates=fresh)
    assert len(ranked) == 2 and set(ranked["loss.kind"]) == {"kl", "annealing"}


def test_constraints_are_always_satisfied(table):
    recommender = Recommender().fit(table)
    features = table.iloc[0].to_dict()
    params = sorted(table["student_params"].unique())
    layers = sorted(table["student.layers"].unique())
    cases = itertools.product([None, *layers], [None, *params], [None, 1e9],
                              [(), (("augment.pipeline", "random"),), (("loss.kind", "none"),)])
    for student_layers, max_params, max_latency, exclude in cases:
        constraints = Constraints(student_layers=student_layers, max_params=max_params, max_latency_ms=max_latency,
                                  exclude=exclude)
        ranked = recommender.recommend(features, top_k=20, constraints=constraints)
        for row in ranked.to_dict("records"):
            pipeline = row["pipeline"]
            assert student_layers is None or pipeline["student.layers"] == student_layers
            assert max_params is None or row["student_params"] <= max_params
            assert max_latency is None or row["predicted_latency_ms"] <= max_latency
            assert not constraints.excludes(pipeline)
            assert "random" not in str(pipeline.get("augment.pipeline")) or not exclude or exclude[0][1] != "random"
    tight = recommender.recommend(features, constraints=Constraints(max_params=1.0))
    assert tight.empty  # nothing that small: an empty answer, never a pipeline that breaks the budget
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        Constraints.parse_exclude(["augment.pipelines=contextual"])


def test_students_are_smaller_than_the_teacher_unless_the_user_allows_its_size(table):
    """``compress`` (default): no pipeline whose procedure keeps the teacher's depth (Born-Again), and with the
    teacher's size known, no student at least that large."""
    recommender = Recommender().fit(table)
    features = table.iloc[0].to_dict()
    born_again = {"procedure.kind": "born_again", "procedure.generations": 2, "student.layers": 2}
    candidates = [born_again, {"student.layers": 2}, {"student.layers": 3}]
    sizes = {2: 5e6, 3: 7e6}

    def params_of(pipeline):
        return 9e6 if pipeline.get("procedure.kind") == "born_again" else sizes[pipeline["student.layers"]]

    ranked = recommender.recommend(features, top_k=5, candidates=candidates)
    assert len(ranked) == 2 and "born_again" not in set(ranked.get("procedure.kind", pd.Series(dtype=object)))
    ranked = recommender.recommend(features, top_k=5, candidates=candidates, params_of=params_of,
                                   teacher_params=7e6)
    assert list(ranked["student.layers"]) == [2]  # the 3-layer student is as large as this teacher
    allowed = recommender.recommend(features, top_k=5, candidates=candidates, params_of=params_of,
                                    teacher_params=7e6, constraints=Constraints(compress=False))
    assert len(allowed) == 3


def test_a_regression_task_is_never_recommended_what_it_cannot_run(table):
    """The meta-dataset's classification pipelines use kl; a regression task gets none of them."""
    recommender = Recommender().fit(table[table["task"] != "tiny_reg"])
    regression = table[table["task"] == "tiny_reg"].iloc[0].to_dict()
    assert regression["mf.is_regression"]
    candidates = [*recommender.candidates(), {"procedure.kind": "teacher_free"}]
    assert any(p.get("loss.kind") == "kl" for p in candidates)
    ranked = recommender.recommend(regression, top_k=50, candidates=candidates)
    assert len(ranked) >= 2 and "kl" not in set(ranked["loss.kind"])
    assert "teacher_free" not in set(ranked.get("procedure.kind", pd.Series(dtype=object)).dropna())
    classification = table[table["task"] == "tiny_b"].iloc[0].to_dict()
    assert "kl" in set(recommender.recommend(classification, top_k=50)["loss.kind"])
    with pytest.raises(ConfigError, match="no candidate pipeline can run on this task"):
        recommender.recommend(regression, candidates=[{"loss.kind": "kl"}])


def test_save_load_round_trip_and_refusals(table, tmp_path):
    recommender = Recommender().fit(table)
    features = table.iloc[0].to_dict()
    path = recommender.save(tmp_path / "model.skops")
    loaded = Recommender.load(path)
    pd.testing.assert_frame_equal(loaded.recommend(features, top_k=3).drop(columns="pipeline"),
                                  recommender.recommend(features, top_k=3).drop(columns="pipeline"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the checksum in the stamp no longer matches
    tampered = tmp_path / "tampered.skops"
    tampered.write_bytes(bytes(data))
    (tmp_path / "tampered.skops.json").write_text((tmp_path / "model.skops.json").read_text())
    with pytest.raises(RecommenderFileError, match="changed after it was saved"):
        Recommender.load(tampered)
    import json

    import skops.io as sio

    class Evil:  # a type nobody vouched for, inside an otherwise valid file
        pass

    recommender.evil_ = Evil()
    untrusted = tmp_path / "untrusted.skops"
    sio.dump(recommender, untrusted)
    import hashlib

    stamp = {**recommender.stamp_, "sha256": hashlib.sha256(untrusted.read_bytes()).hexdigest()}
    (tmp_path / "untrusted.skops.json").write_text(json.dumps(stamp))
    with pytest.raises(RecommenderFileError, match="outside the trusted list"):
        Recommender.load(untrusted)
    with pytest.raises(RecommenderFileError, match="needs the file and its"):
        Recommender.load(tmp_path / "missing.skops")


def test_recommend_a_csv_task_that_is_not_in_the_meta_dataset(tiny_meta, tmp_path):
    from autodistiller.testing import one_torch_thread, tiny_task, tiny_teacher

    with one_torch_thread():
        new_task = tiny_task(tmp_path, rows=100, seed=11, name="unseen")
        teacher = tiny_teacher(tmp_path, new_task)
        frame = recommend(new_task, teacher=teacher, top_k=2, meta_dataset_path=tiny_meta, cache_dir=tmp_path / "c",
                          constraints=Constraints(exclude=(("loss.kind", "none"),)), log=lambda _: None)
    assert 1 <= len(frame) <= 2 and not (frame["loss.kind"] == "none").any()
    assert frame.attrs["features"]["mf.train_size"] == len(new_task.splits["train"])
    assert frame.attrs["feature_seconds"] >= 0 and isinstance(frame.attrs["landmark_beats_teacher"], bool)
    assert (frame["student_params"] > 0).all() and np.isfinite(frame["student_params"]).all()


def test_an_empty_meta_dataset_is_an_error_before_the_teacher_fine_tunes(tmp_path, monkeypatch):
    from autodistiller.recommend import _api
    from autodistiller.testing import tiny_task

    def no_teacher(*args, **kwargs):
        raise AssertionError("the teacher fine-tuned before the meta-dataset was checked")

    monkeypatch.setattr(_api, "fine_tune_teacher", no_teacher)
    with pytest.raises(ConfigError, match="no rows to learn from"):
        recommend(tiny_task(tmp_path, rows=40, seed=3, name="t"), meta_dataset_path=tmp_path / "empty",
                  cache_dir=tmp_path / "c", log=lambda _: None)


def test_leave_one_family_out_scores_each_method_on_held_out_tasks(table):
    frame = leave_one_family_out(table)
    assert set(frame["task"]) == {"tiny", "tiny_b", "tiny_reg"} and set(frame["method"]) == set(METHODS)
    assert (frame["normalized_regret"] <= 1.0 + 1e-9).all() and frame["pick_percentile"].between(0, 1).all()
    summary = summarize(frame)
    assert list(summary.columns[:2]) == ["mean_normalized_regret", "mean_regret"] and len(summary) == 3
    ablation = feature_group_ablation(table)
    assert ablation["without"].iloc[0].startswith("(none") and len(ablation) == 7


def test_the_recommend_command_ranks_fresh_samples_too(tiny_meta, tiny_runs, tmp_path, capsys):
    from autodistiller.cli import main

    task, teacher = tiny_runs[1]
    out = tmp_path / "best.yaml"
    code = main(["recommend", "--task", task.spec.source, "--teacher-dir", str(teacher.path), "--meta-dataset",
                 str(tiny_meta), "--top-k", "2", "--fresh", "40", "--out", str(out), "--cache-dir", str(tmp_path),
                 "--max-length", "32"])
    printed = capsys.readouterr().out
    assert code == 0 and "#1: predicted score" in printed and "nearest training tasks" in printed
    from autodistiller import PipelineConfig

    written = PipelineConfig.from_yaml(out).training  # distill --pipeline runs it as is, on the user's budget
    assert (written.max_train_examples, written.max_length, written.epochs) == (0, 32, 3)
    assert "training budget: training.epochs 3, training.max_length 32, training.max_train_examples 0" in printed


def test_with_budget_swaps_the_fidelity_for_a_real_run_and_keeps_the_choices():
    from autodistiller.recommend import with_budget

    learned = {"loss.kind": "kl", "loss.temperature": 4.0, "training.epochs": 3, "training.max_length": 64,
               "training.max_train_examples": 500, "training.learning_rate": 1e-4}
    real = with_budget(learned, {"training.epochs": 5, "training.max_length": None})
    assert real == {**learned, "training.epochs": 5, "training.max_length": 128, "training.max_train_examples": 0}
    with pytest.raises(ConfigError, match="not among"):
        with_budget(learned, {"training.learning_rate": 1e-3})


def test_a_pipeline_has_one_identity_whatever_the_column_dtype():
    from autodistiller.recommend import pipeline_key

    as_ints = {"loss.kind": "kl", "intermediate.objective": "infonce", "intermediate.critic_hidden": 128,
               "loss.temperature": 2}
    as_floats = {**as_ints, "intermediate.critic_hidden": 128.0, "loss.temperature": 2.0}
    assert pipeline_key(as_ints) == pipeline_key(as_floats)


def test_search_warm_start_runs_the_recommenders_best_point_inside_the_space_first(tmp_path, tiny_task,
                                                                                 tiny_teacher):
    """``search(warm_start=K)``: the first trial is the shipped recommender's best pipeline that lies inside
    the space (projected onto its parameters) and breaks none of its constraints."""
    from autodistiller.searcher import search, space_from_dict

    space = space_from_dict({"parameters": {
        "student.layers": {"choices": [1, 2, 3]}, "loss.kind": {"choices": ["kl", "mse", "none"]},
        "training.epochs": 1, "training.batch_size": 8, "training.max_length": 32}})
    ranked = recommend(tiny_task, teacher=tiny_teacher, top_k=30, cache_dir=tmp_path / "c", log=lambda _: None)
    expected = space.first_points(ranked["pipeline"], 1)
    assert len(expected) == 1
    _, frame = search(tiny_task, space, trials=1, warm_start=1, teacher=tiny_teacher, cache_dir=tmp_path / "c",
                      storage=str(tmp_path / "runs"), name="warm", verbose=0, log=lambda _: None)
    row = frame.iloc[0]
    assert {key: row[key] for key in expected[0]} == expected[0]


def test_printed_recommendations_say_how_much_smaller_than_the_teacher_each_student_is():
    import io

    import pandas as pd

    from autodistiller._recommend_cli import print_recommendations

    def ranked(first_params: float) -> pd.DataFrame:
        frame = pd.DataFrame({"rank": [1, 2], "predicted_score": [0.9, 0.8], "uncertainty": [0.1, 0.1],
                              "predicted_train_seconds": [30.0, 10.0], "student_params": [first_params, 10e6],
                              "predicted_latency_ms": [2.0, 1.0],
                              "pipeline": [{"procedure.kind": "born_again"}, {"student.layers": 2}]})
        frame.attrs.update(teacher_params=20e6, nearest_tasks=[("trec6", 0.5)])
        return frame

    out = io.StringIO()
    print_recommendations(ranked(20e6), file=out)
    assert "20.0M params (the teacher's size)" in out.getvalue()
    assert "10.0M params (2.00x smaller than the teacher)" in out.getvalue()
    assert "note: #1 keeps the teacher's size" in out.getvalue()
    out = io.StringIO()
    print_recommendations(ranked(15e6), file=out)
    assert "(1.33x smaller than the teacher)" in out.getvalue() and "note: #1" not in out.getvalue()


def test_a_pipeline_the_tasks_teacher_cannot_run_is_never_recommended(tiny_meta, tiny_task, tiny_teacher, tmp_path):
    """The tiny teacher has 4 layers: a TAKD assistant of 5 cannot sit between it and a student."""
    from autodistiller.testing import one_torch_thread

    too_deep = {"procedure.kind": "takd", "procedure.assistant_layers": 5, "student.layers": 2}
    fits = {"procedure.kind": "takd", "procedure.assistant_layers": 3, "student.layers": 2}
    with one_torch_thread():
        frame = recommend(tiny_task, teacher=tiny_teacher, top_k=5, candidates=[too_deep, fits, {"student.layers": 1}],
                          meta_dataset_path=tiny_meta, cache_dir=tmp_path / "c", log=lambda _: None)
    assert len(frame) == 2 and 5 not in set(frame["procedure.assistant_layers"].dropna())


def test_the_cached_default_recommender_is_found_by_a_new_process_and_a_damaged_one_is_fitted_again(
        tiny_meta, tmp_path):
    """The cache key is stable across processes (``hash()`` of strings is not), and a cached file that fails its
    checks is replaced, not an error: the rows it came from are at hand."""
    import subprocess
    import sys

    from autodistiller.recommend import default_recommender

    code = ("import sys; from autodistiller import meta_dataset; from autodistiller.recommend import training_table;"
            "from autodistiller.recommend._api import recommender_cache_key;"
            "print(recommender_cache_key(training_table(meta_dataset.load(sys.argv[1])), 'surrogate', ('mf.a',)))")
    keys = {subprocess.run([sys.executable, "-c", code, str(tiny_meta)], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": seed}).stdout.strip()
            for seed in ("1", "2")}
    assert len(keys) == 1 and "" not in keys
    logged: list[str] = []
    first = default_recommender(tiny_meta, cache_dir=tmp_path, log=logged.append)
    [cached] = (tmp_path / "recommender").glob("*.skops")
    assert default_recommender(tiny_meta, cache_dir=tmp_path, log=logged.append).stamp_ == first.stamp_
    assert not logged
    cached.write_bytes(cached.read_bytes()[:-10])  # a truncated cache file
    again = default_recommender(tiny_meta, cache_dir=tmp_path, log=logged.append)
    assert again.stamp_ == first.stamp_ and len(logged) == 1 and "fitting it again" in logged[0]
    assert Recommender.load(cached).stamp_ == first.stamp_  # the file was written anew


def test_task_reliability_is_the_share_of_score_variance_that_is_not_seed_noise():
    """Hand-computed: on "signal" two pipelines differ by far more than their seeds; on "noise" they do not."""
    from autodistiller.recommend import task_reliability

    rows = pd.DataFrame({
        "task": ["signal"] * 4 + ["noise"] * 4 + ["unrepeated"] * 2,
        "pipeline_key": ["a", "a", "b", "b", "a", "a", "b", "b", "a", "b"],
        "student_dev_score": [0.50, 0.52, 0.80, 0.82, 0.50, 0.60, 0.51, 0.59, 0.4, 0.6],
    })
    reliability = task_reliability(rows)
    q25, q75 = np.percentile([0.50, 0.52, 0.80, 0.82], [25, 75])
    total = ((q75 - q25) / 1.349) ** 2
    within = np.mean([np.var([0.50, 0.52], ddof=1), np.var([0.80, 0.82], ddof=1)])
    assert reliability["signal"] == pytest.approx(1 - within / total)
    assert reliability["noise"] == 0.0  # seeds spread wider than the pipelines: clipped
    assert np.isnan(reliability["unrepeated"])


def test_reliability_weighting_fits_and_ranks(table):
    weighted = Recommender(weighting="reliability", n_estimators=20).fit(table)
    assert weighted.stamp_["weighting"] == "reliability" and "task_reliability" in table
    assert len(weighted.recommend(table.iloc[0].to_dict(), top_k=2)) == 2
    with pytest.raises(ConfigError, match="weighting="):
        Recommender(weighting="heavy")


def test_fresh_candidates_are_pipelines_the_task_can_run():
    from autodistiller.recommend import keeps_teacher_depth
    from autodistiller.registries import unusable_choices
    from autodistiller.searcher import fresh_candidates

    regression = fresh_candidates(40, seed=3, is_regression=True, compress=True)
    assert len(regression) == 40 and all("training.seed" not in p for p in regression)
    assert not any(unusable_choices(p, is_regression=True) or keeps_teacher_depth(p) for p in regression)
    assert fresh_candidates(5, seed=3) == fresh_candidates(5, seed=3)  # deterministic for a seed


def test_a_pair_task_is_never_recommended_what_it_cannot_run(table):
    recommender = Recommender(n_estimators=20).fit(table)
    features = {**table.iloc[0].to_dict(), "mf.is_pair": True}
    knn = {"augment.policy": "minimax_knn", "student.layers": 1}
    frame = recommender.recommend(features, top_k=5, candidates=[knn, {"student.layers": 1}])
    assert len(frame) == 1 and frame["augment.policy"].iloc[0] != "minimax_knn"
    assert len(recommender.recommend({**features, "mf.is_pair": False}, top_k=5,
                                     candidates=[knn, {"student.layers": 1}])) == 2
