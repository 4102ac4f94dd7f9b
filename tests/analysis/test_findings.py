"""The Distiller findings: verdict rules, planted effects that must be found, and the real tiny meta-dataset."""

import math

import numpy as np
import pytest

from autodistiller import analysis as an


@pytest.mark.parametrize(("effect", "low", "high", "tasks", "expected"), [
    (0.05, 0.02, 0.08, 3, an.SUPPORTED),
    (-0.05, -0.08, -0.02, 3, an.NOT_SUPPORTED),
    (0.001, -0.004, 0.006, 3, an.NOT_SUPPORTED),  # within the 0.01 margin: no difference that matters
    (0.02, -0.03, 0.07, 3, an.INCONCLUSIVE),
    (0.05, 0.02, 0.08, 1, an.INCONCLUSIVE),  # one task is not enough
    (0.05, math.nan, math.nan, 3, an.INCONCLUSIVE),
    (math.nan, math.nan, math.nan, 0, an.INCONCLUSIVE),
])
def test_verdict_rules(effect, low, high, tasks, expected):
    word, why = an.verdict(effect, low, high, tasks, margin=0.01, min_tasks=2)
    assert word == expected and why


def _pooled(findings):
    return findings[findings["task"] == an.POOLED].set_index("finding")


def test_planted_effects_are_supported(make_table):
    def score(row, rng):
        kd = row["loss.kind"] != "none" or row["intermediate.objective"] != "none"
        small = row["training.max_train_examples"] == 100
        augmented = row["augment.pipeline"] != "none" or row["augment.policy"] != "none"
        return (0.5 + 0.05 * kd + 0.2 * (row["intermediate.objective"] == "mi_alpha")
                + (0.08 if small else 0.0) * augmented)

    findings = an.distiller_findings(make_table(score, n=60), n_boot=500)
    pooled = _pooled(findings)
    assert list(pooled.index) == [1, 2, 3, 4]
    assert (pooled["verdict"] == an.SUPPORTED).all(), pooled[["effect", "ci_low", "ci_high", "detail"]]
    assert (pooled["n_tasks"] == 3).all()
    assert pooled.loc[4, "effect"] == pytest.approx(0.2, abs=0.03)
    assert pooled.loc[3, "effect"] == pytest.approx(0.08, abs=0.04)
    cells = findings[(findings["finding"] == 3) & (findings["task"] != an.POOLED)]
    assert sorted(set(cells["train_size"])) == [100, 1000] and len(cells) == 6


def test_planted_opposite_and_null_effects(make_table):
    # KD hurts; augmentation helps only large training sets
    def score(row, rng):
        labels_only = row["loss.kind"] == "none" and row["intermediate.objective"] == "none"
        augmented = row["augment.pipeline"] != "none" or row["augment.policy"] != "none"
        large = row["training.max_train_examples"] == 1000
        return 0.5 + 0.1 * labels_only + 0.1 * (augmented and large)

    pooled = _pooled(an.distiller_findings(make_table(score, n=60, noise=0.002), n_boot=500))
    assert pooled.loc[1, "verdict"] == an.NOT_SUPPORTED and pooled.loc[1, "ci_high"] < 0
    assert pooled.loc[3, "verdict"] == an.NOT_SUPPORTED and pooled.loc[3, "ci_high"] < 0
    # nothing matters: mi_alpha is as good as the rest, within a CI inside ±0.01
    flat = _pooled(an.distiller_findings(make_table(lambda row, rng: 0.5, n=60, noise=0.002), n_boot=500))
    assert flat.loc[4, "verdict"] == an.NOT_SUPPORTED and "no difference that matters" in flat.loc[4, "detail"]
    assert -0.01 < flat.loc[4, "ci_low"] < 0 < flat.loc[4, "ci_high"] < 0.01


def test_a_single_task_is_inconclusive(make_table):
    table = make_table(lambda row, rng: 0.5 + 0.2 * (row["loss.kind"] != "none"), tasks=("a",), n=40)
    pooled = _pooled(an.distiller_findings(table, n_boot=300))
    assert (pooled["verdict"] == an.INCONCLUSIVE).all()
    assert "only 1 task" in pooled.loc[1, "detail"]


def test_findings_on_the_real_meta_dataset(meta_frame, null_frame):
    before = meta_frame.copy(deep=True)
    findings = an.distiller_findings(meta_frame, n_boot=500)
    assert meta_frame.equals(before)
    pooled = _pooled(findings)
    assert list(pooled.index) == [1, 2, 3, 4]
    assert set(pooled["verdict"]) <= {an.SUPPORTED, an.NOT_SUPPORTED, an.INCONCLUSIVE}
    # both tasks ran KD and labels-only trials, mi_alpha and hidden_mse
    assert pooled.loc[1, "n_tasks"] == 2 and pooled.loc[4, "n_tasks"] == 2
    per_task = findings[findings["task"] != an.POOLED]
    for row in pooled.itertuples():
        assert row.verdict == an.verdict(row.effect, row.ci_low, row.ci_high, row.n_tasks,
                                         margin=0.05 if row.Index == 2 else 0.01, min_tasks=2)[0]
        effects = per_task.loc[per_task["finding"] == row.Index, "effect"]
        if len(effects) and row.Index != 3:
            assert row.effect == pytest.approx(effects.mean())
        if np.isfinite(row.ci_low):
            assert row.ci_low <= row.effect + 1e-9 <= row.ci_high + 2e-9
    # finding 1 by hand on one task: KD rows minus labels-only rows
    done = meta_frame[(meta_frame["status"] == "completed") & (meta_frame["task"] == "tiny_regression")]
    kd = done[(done["loss.kind"] != "none") | (done["intermediate.objective"] != "none")]["score_retained"]
    labels = done[(done["loss.kind"] == "none") & (done["intermediate.objective"] == "none")]["score_retained"]
    row = per_task[(per_task["finding"] == 1) & (per_task["task"] == "tiny_regression")].iloc[0]
    assert row["effect"] == pytest.approx(kd.mean() - labels.mean())
    assert (row["n_a"], row["n_b"]) == (len(kd), len(labels)) == (10, 2)
    # finding 3 compares the 64-example subsets with the full 128-example training sets
    cells = per_task[per_task["finding"] == 3]
    assert set(cells["train_size"]) <= {64.0, 128.0}
    # NULL (not applicable) values change nothing here: the rows are the same trials
    again = an.distiller_findings(null_frame, n_boot=500)
    assert list(_pooled(again)["n_tasks"]) == list(pooled["n_tasks"])
