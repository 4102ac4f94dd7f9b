"""Tokenization with the model's own tokenizer, cached by ``datasets``."""

from __future__ import annotations

import hashlib
from typing import Any

from autodistiller.tasks._spec import Task

__all__ = ["encode_task", "ENCODED_COLUMNS"]

ENCODED_COLUMNS = ("input_ids", "attention_mask", "token_type_ids", "labels", "length", "truncated")


def _tokenizer_key(tokenizer: Any) -> str:
    vocab = tokenizer.get_vocab()
    digest = hashlib.sha256(type(tokenizer).__name__.encode())
    digest.update(repr(sorted(vocab.items())[:: max(1, len(vocab) // 512)]).encode())
    digest.update(f"{len(vocab)}|{tokenizer.model_max_length}|{tokenizer.padding_side}".encode())
    return digest.hexdigest()[:16]


def encode_task(task: Task, tokenizer: Any, max_length: int,
                splits: tuple[str, ...] = ("train", "validation", "test")) -> dict[str, Any]:
    """Tokenize the splits without padding (batches are padded dynamically) and add a ``length`` column and a
    ``truncated`` one (the example was longer than ``max_length`` and was cut).

    ``datasets.map`` caches the result on disk for datasets read from files (suite tasks); the fingerprint
    names the tokenizer and ``max_length`` so a change of either re-tokenizes.
    """
    import datasets

    datasets.disable_progress_bars()  # one bar per split per trial is noise in a search log
    key = _tokenizer_key(tokenizer)
    has_pair = task.card.has_pair

    def tokenize(batch: dict[str, list[Any]]) -> dict[str, Any]:
        pair = batch["text_pair"] if has_pair else None
        enc = tokenizer(batch["text"], pair, truncation=True, max_length=max_length)
        enc["length"] = [len(ids) for ids in enc["input_ids"]]
        # cut to max_length: a fast tokenizer keeps what it cut; a slow one only says it reached the limit
        enc["truncated"] = ([bool(e.overflowing) for e in enc.encodings] if enc.encodings is not None
                            else [n >= max_length for n in enc["length"]])
        enc["labels"] = batch["label"]
        return enc

    out = {}
    for split in splits:
        dataset = task.splits[split]
        fingerprint = hashlib.sha256(f"{dataset._fingerprint}|{key}|{max_length}|v2".encode()).hexdigest()[:32]
        encoded = dataset.map(
            tokenize,
            batched=True,
            remove_columns=dataset.column_names,
            new_fingerprint=fingerprint,
            desc=f"tokenize {task.name}/{split}",
        )
        out[split] = encoded.with_format("numpy")
    return out
