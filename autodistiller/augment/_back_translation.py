"""``back_translation``: paraphrase by translating to a pivot language and back (Marian en -> fr -> en).

The Distiller code used nlpaug's ``BackTranslationAug`` with ``Helsinki-NLP/opus-mt-en-fr`` and
``Helsinki-NLP/opus-mt-fr-en``; those are the defaults here, loaded with ``MarianMTModel`` /
``MarianTokenizer`` (which needs the ``sentencepiece`` package). Any local directory of a Marian model works
the same way; a directory that carries a ``tokenizer.json`` loads its tokenizer with ``AutoTokenizer``.

No translation model is available offline: the tests run this exact code path (``from_pretrained`` of a
directory, batched ``generate``, decode) on tiny randomly initialised Marian models built from a
``MarianConfig`` with a small word-level tokenizer, so they check the plumbing, not translation quality.
Every text is translated (nlpaug's behaviour: no ``aug_p``); an empty translation falls back to the input.
Greedy or beam decoding is deterministic, so copies only differ with ``do_sample=True`` (seeded from the
``rng``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autodistiller.augment._base import AUGMENTERS, Augmenter
from autodistiller.errors import ConfigError

__all__ = ["BackTranslationAugmenter", "load_translator"]


def load_translator(name_or_path: str, device: str | None = None) -> tuple[Any, Any]:
    """``(MarianMTModel, tokenizer)`` in eval mode from a Hub id or a local directory."""
    from transformers import AutoTokenizer, MarianMTModel, MarianTokenizer

    from autodistiller.models import quiet_transformers

    quiet_transformers()
    path = Path(name_or_path).expanduser()
    if path.is_dir() and (path / "tokenizer.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    else:  # the opus-mt models ship SentencePiece files (source.spm / target.spm): MarianTokenizer
        tokenizer = MarianTokenizer.from_pretrained(str(name_or_path))
    model = MarianMTModel.from_pretrained(str(name_or_path))
    model.eval()
    if device is not None:
        model.to(device)
    return model, tokenizer


@AUGMENTERS.register("back_translation")
class BackTranslationAugmenter(Augmenter):
    """Translate every text to the pivot language and back with two Marian models.

    ``num_beams`` 1 is greedy decoding (the cheapest); ``do_sample=True`` samples with ``top_p`` (copies then
    differ, seeded from the ``rng``). Outputs are capped at ``max_length`` tokens.
    """

    uses = ()
    reads = (*Augmenter.reads, "translators")

    def __init__(self, *, to_pivot: str = "Helsinki-NLP/opus-mt-en-fr", from_pivot: str = "Helsinki-NLP/opus-mt-fr-en",
                 num_beams: int = 1, do_sample: bool = False, top_p: float = 0.9, max_length: int = 128,
                 batch_size: int = 16, device: str | None = None) -> None:
        if num_beams < 1 or max_length < 1 or batch_size < 1:
            raise ConfigError(f"augmenter 'back_translation': {num_beams=}, {max_length=} and {batch_size=} "
                              "must be >= 1.")
        if not 0.0 < top_p <= 1.0:
            raise ConfigError(f"augmenter 'back_translation': {top_p=} must be in (0, 1].")
        self.to_pivot = to_pivot
        self.from_pivot = from_pivot
        self.num_beams = num_beams
        self.do_sample = do_sample
        self.top_p = top_p
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self._models: tuple[tuple[Any, Any], tuple[Any, Any]] | None = None

    def _load(self) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
        if self._models is None:
            self._models = (load_translator(self.to_pivot, self.device), load_translator(self.from_pivot, self.device))
        return self._models

    @torch.inference_mode()
    def translate(self, texts: Sequence[str], model: Any, tokenizer: Any) -> list[str]:
        """One direction, batched: tokenize, ``generate``, decode."""
        device = next(model.parameters()).device
        out: list[str] = []
        kwargs: dict[str, Any] = {"num_beams": self.num_beams, "max_new_tokens": self.max_length}
        if self.do_sample:
            kwargs.update(do_sample=True, top_p=self.top_p)
        for start in range(0, len(texts), self.batch_size):
            batch = tokenizer(list(texts[start:start + self.batch_size]), return_tensors="pt", padding=True,
                              truncation=True, max_length=self.max_length)
            batch = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
            generated = model.generate(**batch, **kwargs)
            out.extend(text.strip() for text in tokenizer.batch_decode(generated, skip_special_tokens=True))
        return out

    def __call__(self, texts: Sequence[str], rng: np.random.Generator) -> list[str]:
        if not texts:
            return []
        (forward, forward_tok), (backward, backward_tok) = self._load()
        # Sampling draws from torch's generator: seed it from the rng, without touching the global state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            pivot = self.translate(texts, forward, forward_tok)
            back = self.translate(pivot, backward, backward_tok)
        return [b if b else t for t, b in zip(texts, back, strict=True)]
