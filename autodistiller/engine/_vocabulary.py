"""Train only the word-embedding rows the training data can reach, with the same result as training them all.

A 2-layer student of MiniLM keeps 11.7M of its 15.6M parameters in the word-embedding matrix, and a batch
reads a few hundred of its 30,522 rows. With AdamW, a row whose gradient is always zero (a token no training
input contains) has zero moments, so each step only applies the decoupled weight decay: ``p <- p (1 - lr wd)``.
:class:`CompactWordEmbeddings` trains the reachable rows as their own small matrix and applies that product of
decays to the other rows in closed form whenever the full matrix is needed (evaluation, the end), so the
result equals dense AdamW up to float rounding while the step skips the dense gradient, its norm and the
optimizer update of the unreachable rows.

It applies only where that argument holds: the embedding matrix is read by lookups alone (no policy multiplies
distributions by it), the rows are known before training, and no optimizer step can be skipped (no fp16 loss
scaling).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

__all__ = ["CompactWordEmbeddings", "reachable_tokens"]


def reachable_tokens(rows: Iterable[np.ndarray], pad_token_id: int) -> np.ndarray:
    """Sorted distinct token ids of ``rows`` (and the padding id, which every padded batch reads)."""
    ids = [np.asarray(r, dtype=np.int64) for r in rows]
    return np.unique(np.concatenate([*ids, np.asarray([pad_token_id], dtype=np.int64)]))


class _RemappedEmbedding(nn.Module):
    """Looks original token ids up in the compact matrix (the teacher and the batches keep the original ids)."""

    def __init__(self, weight: nn.Parameter, remap: torch.Tensor, padding_idx: int | None) -> None:
        super().__init__()
        self.weight = weight
        self.register_buffer("remap", remap, persistent=False)
        self.padding_idx = padding_idx

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(self.remap[input_ids], self.weight, padding_idx=self.padding_idx)


class CompactWordEmbeddings:
    """Swap a model's word embeddings for the rows ``token_ids`` while it trains (``install``), and write them
    back, with the unreachable rows' weight decay applied, before anything reads the whole matrix (``restore``).

    ``weight_decay`` is the decay of the optimizer group the compact matrix joins; call :meth:`step` with each
    step's learning rate, before the optimizer step that uses it.
    """

    def __init__(self, model: nn.Module, token_ids: np.ndarray, *, weight_decay: float) -> None:
        self.model = model
        self.full: nn.Embedding = model.get_input_embeddings()
        vocab = self.full.weight.shape[0]
        ids = torch.as_tensor(np.asarray(token_ids, dtype=np.int64))
        self.ids = ids
        self.others = torch.from_numpy(np.setdiff1d(np.arange(vocab), ids.numpy()))
        remap = torch.full((vocab,), -1, dtype=torch.long)  # an unreachable id fails loudly in the lookup
        remap[ids] = torch.arange(len(ids))
        padding = self.full.padding_idx
        compact_padding = int(remap[padding]) if padding is not None and remap[padding] >= 0 else None
        weight = nn.Parameter(self.full.weight.detach()[ids].clone())
        self.compact = _RemappedEmbedding(weight, remap.to(weight.device), compact_padding)
        self.weight_decay = weight_decay
        self.pending_decay = 1.0  # product of (1 - lr wd) not yet applied to the unreachable rows
        self.installed = False

    @property
    def parameter(self) -> nn.Parameter:
        return self.compact.weight

    def step(self, learning_rate: float) -> None:
        """Record one optimizer step's decoupled weight decay for the rows that do not train."""
        self.pending_decay *= 1.0 - learning_rate * self.weight_decay

    def install(self) -> None:
        if not self.installed:
            self.compact.to(self.full.weight.device)
            self.model.set_input_embeddings(self.compact)
            self.installed = True

    @torch.no_grad()
    def restore(self) -> None:
        """The full matrix back in the model, up to date: trained rows copied, decays applied."""
        if not self.installed:
            return
        weight = self.full.weight
        weight[self.ids.to(weight.device)] = self.compact.weight.to(weight.dtype)
        if self.pending_decay != 1.0:
            others = self.others.to(weight.device)
            weight[others] = weight[others] * self.pending_decay
            self.pending_decay = 1.0
        self.model.set_input_embeddings(self.full)
        self.installed = False
