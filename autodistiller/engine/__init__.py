"""The KD engine: ``distill()`` and the training loop it shares with teacher fine-tuning."""

from autodistiller.engine._callbacks import EpochCallback, EpochReport, PrintProgress
from autodistiller.engine._data import EncodedSplit, encode_splits, subset_indices
from autodistiller.engine._device import autocast_dtype, seed_everything, select_device, set_threads
from autodistiller.engine._loop import TrainOutcome, evaluate, model_inputs, predict_logits, train_model

__all__ = [
    "EncodedSplit",
    "encode_splits",
    "EpochCallback",
    "EpochReport",
    "PrintProgress",
    "TrainOutcome",
    "autocast_dtype",
    "evaluate",
    "model_inputs",
    "predict_logits",
    "seed_everything",
    "select_device",
    "set_threads",
    "subset_indices",
    "train_model",
]

# last: distill needs the models package, which needs the loop above
from autodistiller.engine._distill import DistillResult, distill  # noqa: E402

__all__ += ["DistillResult", "distill"]
