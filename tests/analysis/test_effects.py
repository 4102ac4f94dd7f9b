"""Marginal effects of stage options, on the real tiny meta-dataset and on controlled tables."""

import numpy as np
import pandas as pd
import pytest

from autodistiller import ConfigError
from autodistiller import analysis as an


def test_option_effects_match_a_direct_computation(meta_frame):
    before = meta_frame.copy(deep=True)
    effects = an.option_effects(meta_frame, n_boot=500)
    pd.testing.assert_frame_equal(meta_frame, before)
    done = meta_frame[meta_frame["status"] == "completed"]
    assert set(effects["param"]) == set(an.STAGE_OPTIONS)
    for param in ("loss.kind", "intermediate.objective", "augment.pipeline"):
        rows = effects[(effects["param"] == param) & (effects["task"] != an.POOLED)]
        expected = done.groupby(["task", param])["score_retained"].agg(["mean", "size"])
        assert len(rows) == len(expected)
        for row in rows.itertuples():
            assert row.mean == pytest.approx(expected.loc[(row.task, row.option), "mean"])
            assert row.n_trials == expected.loc[(row.task, row.option), "size"]
            others = done[(done["task"] == row.task) & (done[param] != row.option)]["score_retained"]
            assert row.effect == pytest.approx(row.mean - others.mean())
            assert row.ci_low <= row.mean + 1e-12 and row.mean - 1e-12 <= row.ci_high
        pooled = effects[(effects["param"] == param) & (effects["task"] == an.POOLED)].set_index("option")
        for option, group in rows.groupby("option"):
            assert pooled.loc[option, "mean"] == pytest.approx(group["mean"].mean())
            assert pooled.loc[option, "n_tasks"] == group["task"].nunique()
            assert pooled.loc[option, "n_trials"] == group["n_trials"].sum()
    # a parameter with one option has no effect to measure
    standard = effects[effects["param"] == "procedure.kind"]
    assert standard["effect"].isna().all() and (standard["n_tasks_effect"] == 0).all()


def test_null_is_not_applicable_never_an_option(null_frame):
    params = ["loss.temperature", "augment.policy", "intermediate.mi_alpha", "augment.aug_p"]
    effects = an.option_effects(null_frame, params=params, n_boot=200)
    assert not effects["option"].isin(["nan", "None", "<NA>", "NaN"]).any()
    done = null_frame[null_frame["status"] == "completed"]
    for param in params:
        pooled = effects[(effects["param"] == param) & (effects["task"] == an.POOLED)]
        assert pooled["n_trials"].sum() == done[param].notna().sum()


def test_a_planted_option_effect_is_found(make_table):
    table = make_table(lambda row, rng: 0.6 + 0.1 * (row["augment.policy"] == "mixkd"))
    effects = an.option_effects(table, n_boot=1000, seed=1)
    pooled = effects[effects["task"] == an.POOLED].set_index(["param", "option"])
    mixkd = pooled.loc[("augment.policy", "mixkd")]
    assert mixkd["effect_ci_low"] > 0.08 and mixkd["effect_ci_high"] < 0.12 and mixkd["n_tasks"] == 3
    assert pooled.loc[("augment.policy", "none"), "effect_ci_high"] < 0
    # an option with no real effect: its CI covers 0
    eda = pooled.loc[("augment.pipeline", "eda")]
    assert eda["effect_ci_low"] < 0 < eda["effect_ci_high"]


def test_bad_arguments_name_the_fix(meta_frame):
    with pytest.raises(ConfigError, match="n_boot=10 must be >= 100"):
        an.option_effects(meta_frame, n_boot=10)
    with pytest.raises(ConfigError, match=r"level=95 must be in \(0, 1\)"):
        an.option_effects(meta_frame, level=95)
    with pytest.raises(ConfigError, match="needs the column"):
        an.option_effects(meta_frame, score="nope")
    assert np.isfinite(an.option_effects(meta_frame, score="student_dev_score", n_boot=100)["mean"]).all()
