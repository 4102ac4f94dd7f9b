"""Every augmenter and policy in a real distillation on the TREC-6 suite task, each run logged as a trial row."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from autodistiller import PipelineConfig, distill
from autodistiller.augment import build_mlm
from autodistiller.config import active_parameters
from autodistiller.engine import EncodedSplit
from autodistiller.meta_dataset import load
from autodistiller.testing import log_result


@pytest.fixture(scope="module")
def quick_mlm(cache):
    """A MiniLM MLM trained for 10 steps (seconds): the teacher's vocabulary, enough for the code paths."""
    return str(build_mlm(cache, steps=10, batch_size=8, seq_len=64, eval_tokens=2000, log=None))


def test_each_policy_distils_trec_and_is_logged(trec, trec_teacher, quick_mlm, tiny_marian, tmp_path):
    runs = {
        "eda": {"augment.pipeline": "eda", "augment.aug_p": 0.2},
        "random+contextual": {"augment.pipeline": "random+contextual", "augment.mlm": quick_mlm,
                              "augment.repeated_aug": 2},
        "back_translation": {"augment.pipeline": "back_translation",
                             "augment.translators": f"{tiny_marian[0]},{tiny_marian[1]}"},
        "mixkd": {"augment.policy": "mixkd"},
        "text_smoothing": {"augment.policy": "text_smoothing", "augment.mlm": quick_mlm},
        "mate": {"augment.policy": "mate", "augment.mlm": quick_mlm, "augment.mate_generator_steps": 2,
                 "augment.mate_student_steps": 3, "augment.mate_generator_lr": 1e-5},
        "minimax_knn": {"augment.policy": "minimax_knn", "augment.knn_k": 4, "augment.knn_keep": 2},
    }
    root = tmp_path / "meta"
    plans = {}
    for name, flat in runs.items():
        cfg = PipelineConfig.from_flat({"student.layers": 1, "loss.kind": "kl", "training.epochs": 2,
                                        "training.learning_rate": 2e-4, "training.max_length": 48,
                                        "training.max_train_examples": 160, **flat})
        result = distill(cfg, trec, trec_teacher, log=lambda _: None)
        assert math.isfinite(result.dev_score) and result.dev_score > 0.1, name
        assert result.augment_seconds > 0 or name in ("mixkd",), name
        assert result.plan.policy.name == result.config.augment.policy  # the policy object that trained
        plans[name] = result.plan.to_flat()
        log_result(root, result, name)
    frame = load(root).set_index("trial_id")
    for name, plan in plans.items():  # each row is the plan that ran: its active parameters, null elsewhere
        row = frame.loc[name]
        assert all(pd.isna(row[k]) if v is None else row[k] == v for k, v in plan.items()), name
        # every value the row holds is one the pipeline reads (eda's rates may be null while active: aug_p applies)
        assert {k for k, v in plan.items() if v is not None} <= set(active_parameters(plan)), name
    assert len(frame) == len(runs)
    assert frame.loc["mate", "augment.policy"] == "mate" and frame.loc["mate", "augment.mate_generator_steps"] == 2
    assert frame.loc["random+contextual", "augment.pipeline"] == "random+contextual"
    assert frame.loc["minimax_knn", "augment.knn_keep"] == 2
    assert (frame["status"] == "completed").all() and frame["student_dev_score"].notna().all()
    assert frame["augment_seconds"].notna().all()


def test_augmented_copies_keep_their_labels_and_change_each_epoch(trec, trec_teacher):
    from autodistiller.engine._epochs import augmented_rows

    cfg = PipelineConfig.from_flat({"augment.pipeline": "eda", "augment.aug_p": 0.3, "augment.copies": 1,
                                    "augment.repeated_aug": 2, "training.epochs": 2,
                                    "training.max_length": 48})
    keep = np.arange(0, 400, 5)
    rows = augmented_rows(trec, cfg.augment, keep, cfg.training, trec_teacher.tokenizer, trec_teacher.tokenizer,
                           None, cache_dir=None, log=lambda _: None)
    assert len(rows) == len(keep) * 2 * 2  # (copies x repeated_aug) per epoch, for 2 epochs
    labels = np.asarray(trec.splits["train"]["label"])
    assert np.array_equal(rows.labels, labels[keep][rows.extras["group"]])  # label-preserving
    copy = rows.extras["copy"]
    first, second = (rows.subset(np.flatnonzero(copy == c)) for c in (0, 2))
    assert any(not np.array_equal(a, b) for a, b in zip(first.input_ids, second.input_ids, strict=True))


def test_repeated_augmentation_batches_hold_whole_groups():
    split = EncodedSplit(input_ids=[np.arange(1, 3 + i % 5) for i in range(30)], labels=np.zeros(30, dtype=np.int64),
                         pad_token_id=0, extras={"group": np.repeat(np.arange(10), 3)})
    batches = split.batch_indices(6, shuffle=True, seed=1)
    assert sorted(np.concatenate(batches).tolist()) == list(range(30))
    for batch in batches:
        groups = split.extras["group"][batch]
        assert all((groups == g).sum() == 3 for g in np.unique(groups))  # an example with all its versions
