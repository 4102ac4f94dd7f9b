"""Batches without waste: length-bucketed sampling and dynamic padding over pre-tokenized examples."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["EncodedSplit", "encode_rows", "encode_splits", "subset_indices"]


@dataclass
class EncodedSplit:
    """One tokenized split held as numpy arrays, batched with dynamic padding.

    ``extras`` holds per-example arrays that travel with each batch (e.g. cached teacher logits).
    ``truncated`` says which examples were cut to ``max_length`` (None: not known, e.g. new rows).
    """

    input_ids: list[np.ndarray]
    labels: np.ndarray
    pad_token_id: int
    token_type_ids: list[np.ndarray] | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    truncated: np.ndarray | None = None

    @classmethod
    def from_dataset(cls, dataset: Any, pad_token_id: int) -> EncodedSplit:
        """From tokenized columns: a ``datasets.Dataset`` or a mapping (a tokenizer's output plus ``labels``)."""
        columns = dataset.column_names if hasattr(dataset, "column_names") else list(dataset.keys())
        token_types = list(dataset["token_type_ids"]) if "token_type_ids" in columns else None
        return cls(
            input_ids=[np.asarray(ids, dtype=np.int64) for ids in dataset["input_ids"]],
            labels=np.asarray(dataset["labels"]),
            pad_token_id=pad_token_id,
            token_type_ids=[np.asarray(t, dtype=np.int64) for t in token_types] if token_types is not None else None,
            truncated=np.asarray(dataset["truncated"], dtype=bool) if "truncated" in columns else None,
        )

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def truncated_count(self) -> int | None:
        """How many examples were longer than ``max_length`` and cut (None: not known)."""
        return None if self.truncated is None else int(self.truncated.sum())

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self.input_ids))

    def subset(self, indices: np.ndarray) -> EncodedSplit:
        return EncodedSplit(
            input_ids=[self.input_ids[i] for i in indices],
            labels=self.labels[indices],
            pad_token_id=self.pad_token_id,
            token_type_ids=[self.token_type_ids[i] for i in indices] if self.token_type_ids is not None else None,
            extras={k: v[indices] for k, v in self.extras.items()},
            truncated=self.truncated[indices] if self.truncated is not None else None,
        )

    def with_extra(self, name: str, values: np.ndarray) -> EncodedSplit:
        if len(values) != len(self):
            raise ValueError(f"extra {name!r} has {len(values)} rows for {len(self)} examples.")
        return EncodedSplit(self.input_ids, self.labels, self.pad_token_id, self.token_type_ids,
                            {**self.extras, name: values}, self.truncated)

    @staticmethod
    def concat(parts: list[EncodedSplit]) -> EncodedSplit:
        """The rows of ``parts`` in order; every part must carry the same extras."""
        first = parts[0]
        names = set(first.extras)
        for part in parts[1:]:
            if set(part.extras) != names:
                raise ValueError(f"cannot concatenate splits with extras {sorted(names)} and {sorted(part.extras)}.")
        has_types = all(p.token_type_ids is not None for p in parts)
        return EncodedSplit(
            input_ids=[ids for p in parts for ids in p.input_ids],
            labels=np.concatenate([p.labels for p in parts]),
            pad_token_id=first.pad_token_id,
            token_type_ids=[t for p in parts for t in p.token_type_ids] if has_types else None,  # type: ignore[union-attr]
            extras={name: np.concatenate([p.extras[name] for p in parts]) for name in names},
        )

    def collate(self, indices: np.ndarray) -> dict[str, torch.Tensor]:
        """Pad the examples at ``indices`` to the longest of them (not to ``max_length``)."""
        width = max(len(self.input_ids[i]) for i in indices)
        ids = np.full((len(indices), width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(indices), width), dtype=np.int64)
        types = np.zeros((len(indices), width), dtype=np.int64) if self.token_type_ids is not None else None
        for row, i in enumerate(indices):
            n = len(self.input_ids[i])
            ids[row, :n] = self.input_ids[i]
            mask[row, :n] = 1
            if types is not None:
                types[row, :n] = self.token_type_ids[i]  # type: ignore[index]
        batch = {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "labels": torch.from_numpy(self.labels[indices]),
            "index": torch.from_numpy(np.asarray(indices, dtype=np.int64)),
        }
        if types is not None:
            batch["token_type_ids"] = torch.from_numpy(types)
        for name, values in self.extras.items():
            batch[name] = torch.from_numpy(values[indices])
        return batch

    def batch_indices(self, batch_size: int, *, shuffle: bool, seed: int = 0,
                      bucket_factor: int = 50) -> list[np.ndarray]:
        """Index batches. Training: shuffle, sort inside chunks of ``bucket_factor`` batches by length so each
        batch holds similar lengths (little padding), then shuffle the batches. Eval: sorted by length.

        With a ``group`` extra (repeated augmentation) training batches are made of whole groups: an example
        and its augmented versions always share a batch.
        """
        lengths = self.lengths
        if not shuffle:
            order = np.argsort(lengths, kind="stable")
            return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        rng = np.random.default_rng(seed)
        if "group" in self.extras:
            return self._group_batches(batch_size, rng)
        order = rng.permutation(len(self))
        chunk = batch_size * bucket_factor
        batches: list[np.ndarray] = []
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
        rng.shuffle(batches)  # type: ignore[arg-type]
        return batches

    def _group_batches(self, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
        groups = self.extras["group"]
        order = np.argsort(groups, kind="stable")
        ids, starts = np.unique(groups[order], return_index=True)
        members = np.split(order, starts[1:])
        per_batch = max(1, batch_size // max(len(m) for m in members))
        picked = rng.permutation(len(ids))
        batches = [np.concatenate([members[g] for g in picked[i:i + per_batch]])
                   for i in range(0, len(picked), per_batch)]
        return batches

    def iter_batches(self, batch_size: int, *, shuffle: bool, seed: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        for indices in self.batch_indices(batch_size, shuffle=shuffle, seed=seed):
            yield self.collate(indices)


def encode_splits(task: Any, tokenizer: Any, max_length: int) -> dict[str, EncodedSplit]:
    """Every split of ``task`` tokenized with ``tokenizer`` (cached by ``datasets``), ready for batching."""
    from autodistiller.tasks._encode import encode_task

    pad = _pad_id(tokenizer)
    return {name: EncodedSplit.from_dataset(data, pad) for name, data in encode_task(task, tokenizer, max_length).items()}


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def encode_rows(texts: list[str], tokenizer: Any, max_length: int, *, labels: np.ndarray | None = None,
                text_pairs: list[str] | None = None) -> EncodedSplit:
    """New texts (augmented copies, retrieved sentences) tokenized like a task split."""
    enc = dict(tokenizer(texts, text_pairs, truncation=True, max_length=max_length))
    enc["labels"] = np.zeros(len(texts), dtype=np.int64) if labels is None else np.asarray(labels)
    return EncodedSplit.from_dataset(enc, _pad_id(tokenizer))


def subset_indices(labels: np.ndarray, size: int, *, seed: int, classification: bool) -> np.ndarray:
    """A seeded subset of ``size`` examples (stratified for classification, every class kept), sorted."""
    n = len(labels)
    if size <= 0 or size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if not classification:
        return np.sort(rng.choice(n, size=size, replace=False))
    classes, counts = np.unique(labels, return_counts=True)
    # proportional allocation with at least one example per class
    quota = np.maximum(1, np.floor(counts / n * size).astype(int))
    while quota.sum() > size:
        quota[np.argmax(quota)] -= 1
    remainder = size - quota.sum()
    spare = counts - quota
    for i in np.argsort(-spare)[:remainder]:
        quota[i] += 1
    picked = [rng.choice(np.flatnonzero(labels == c), size=min(q, cnt), replace=False)
              for c, q, cnt in zip(classes, quota, counts, strict=True)]
    return np.sort(np.concatenate(picked))
