"""Stage 3 of a KD pipeline: the prediction-layer loss."""

from autodistiller.prediction._losses import (
    PREDICTION_LOSSES,
    AnnealingLoss,
    HardLabelLoss,
    KLDivergenceLoss,
    LogitMSELoss,
    PredictionLoss,
    StepInfo,
    build_prediction_loss,
    hard_label_loss,
)

__all__ = [
    "PREDICTION_LOSSES",
    "AnnealingLoss",
    "HardLabelLoss",
    "KLDivergenceLoss",
    "LogitMSELoss",
    "PredictionLoss",
    "StepInfo",
    "build_prediction_loss",
    "hard_label_loss",
]
