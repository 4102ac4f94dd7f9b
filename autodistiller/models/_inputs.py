"""Which batch entries a Hugging Face encoder takes as inputs."""

from __future__ import annotations

from torch import Tensor

__all__ = ["MODEL_INPUT_KEYS", "model_inputs"]

MODEL_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def model_inputs(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """The model's inputs out of a batch that also carries labels, indices and cached targets."""
    return {k: batch[k] for k in MODEL_INPUT_KEYS if k in batch}
