"""What intermediate distillation reads from a model: hidden states and raw attention scores.

``Representations`` is the one container the objectives and mappings see, for the student and the teacher alike.
Hugging Face models return attention *probabilities*; TinyBERT distils the *pre-softmax* scores
``Q K^T / sqrt(d_head)``. :func:`attention_scores` switches a model to the ``autodistiller_scores`` attention
implementation (registered here with transformers' ``AttentionInterface``): eager attention with identical
outputs whose returned attention weights are the raw scores (padding not added; objectives mask it).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from autodistiller.errors import ConfigError

__all__ = ["Representations", "SCORES_ATTENTION", "attention_scores", "representations", "valid_pairs_mask"]

#: name of the attention implementation whose ``output_attentions`` are pre-softmax scores
SCORES_ATTENTION = "autodistiller_scores"


def _scores_attention(module: nn.Module, query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None,
                      scaling: float | None = None, dropout: float = 0.0, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """Eager attention (same output as transformers' ``eager_attention_forward``) returning raw scores."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    weights = scores + attention_mask if attention_mask is not None else scores
    weights = nn.functional.softmax(weights, dim=-1)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, scores


@functools.cache
def _register() -> None:
    # On first use, not at import: importing transformers is slow and `autodistiller options` needs none of it.
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import eager_mask

    AttentionInterface.register(SCORES_ATTENTION, _scores_attention)
    # The additive float mask of eager attention; without an entry here the model passes no mask at all.
    AttentionMaskInterface.register(SCORES_ATTENTION, eager_mask)


@contextlib.contextmanager
def attention_scores(model: nn.Module, enabled: bool = True) -> Iterator[nn.Module]:
    """Within the block ``model(..., output_attentions=True)`` returns pre-softmax scores; restored after.

    Restoring matters: a model saved with an implementation name only this package registers would not load.
    """
    if not enabled:
        yield model
        return
    _register()
    original = getattr(model.config, "_attn_implementation", None) or "eager"
    try:
        model.set_attn_implementation(SCORES_ATTENTION)
    except (AttributeError, ValueError, TypeError) as exc:
        raise ConfigError(f"{type(model).__name__} cannot return attention scores (needed by "
                          f"intermediate.objective='attention_mse'): {exc}") from exc
    try:
        yield model
    finally:
        model.set_attn_implementation(original)


@dataclass
class Representations:
    """One forward pass of an encoder, as intermediate objectives read it.

    ``hidden_states[0]`` is the embedding output and ``hidden_states[l]`` the output of layer ``l`` (``[B, T,
    H]``); ``attentions[l - 1]`` holds layer ``l``'s pre-softmax scores ``[B, heads, T, T]`` (or ``None``).
    """

    hidden_states: tuple[Tensor, ...]
    attention_mask: Tensor
    attentions: tuple[Tensor, ...] | None = None
    logits: Tensor | None = None

    @property
    def num_layers(self) -> int:
        return len(self.hidden_states) - 1

    def cls(self, layer: int) -> Tensor:
        """The first ([CLS]) token's vector of ``layer`` (0 = embeddings): ``[B, H]``."""
        return self.hidden_states[layer][:, 0]


def representations(output: Any, attention_mask: Tensor) -> Representations:
    """Wrap a Hugging Face model output computed with ``output_hidden_states=True``."""
    hidden = getattr(output, "hidden_states", None)
    if not hidden:
        raise ValueError("the model output has no hidden states; call it with output_hidden_states=True.")
    attentions = getattr(output, "attentions", None) or None
    return Representations(tuple(hidden), attention_mask, tuple(attentions) if attentions else None,
                           getattr(output, "logits", None))


def valid_pairs_mask(attention_mask: Tensor) -> Tensor:
    """``[B, 1, T, T]`` boolean: both the query and the key token are real (not padding)."""
    valid = attention_mask.bool()
    return (valid[:, :, None] & valid[:, None, :])[:, None]
