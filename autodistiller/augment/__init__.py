"""Stage 1: data augmentation. Text augmenters (registry ``augmenter``), pipelines of them, cached augmented
copies of a training split, the masked-LM asset behind ``contextual``, and the unlabelled pool of Minimax-kNN.

Registered augmenters (the ``augment.pipeline`` vocabulary): ``none``, ``random`` (word swap), ``eda``
(WordNet synonym replacement, random insertion, swap, deletion), ``contextual`` (TinyBERT: MLM top-k for
single-piece words, GloVe neighbours for the others), ``back_translation`` (Marian en -> fr -> en).

>>> import numpy as np
>>> pipeline = build_pipeline("random", params={"aug_p": 0.2})
>>> pipeline(["a b c d e"], np.random.default_rng(0))  # doctest: +SKIP

How the engine uses it (per epoch, as the Distiller code did; nothing here touches the training loop):

1. once per run: ``pipeline = build_pipeline(cfg_pipeline, params=flat_augment_params,
   options={"contextual": {"cache_dir": cache_dir}})`` and ``aug = augmented_copies(task, pipeline,
   copies=epochs, seed=training_seed, rows=train_subset_indices)``: generated once per (task, pipeline,
   copies, seed), then read from the cache by every later trial with the same key;
2. tokenize ``aug`` like the train split and compute the teacher's outputs on it once (soft labels:
   augmented rows keep the hard label, but only the teacher knows how it shifted);
3. epoch ``e`` trains on the original rows plus ``epoch_copy(aug, e)`` (1:1).
"""

from autodistiller.augment._back_translation import BackTranslationAugmenter, load_translator
from autodistiller.augment._base import AUGMENTERS, STOP_WORDS, Augmenter
from autodistiller.augment._contextual import ContextualAugmenter
from autodistiller.augment._copies import AUGMENTED_DIRNAME, augmented_copies, augmented_key, epoch_copy
from autodistiller.augment._eda import EDAAugmenter, NoAugmenter, RandomSwapAugmenter
from autodistiller.augment._glove import GloVe, load_glove
from autodistiller.augment._mlm import (
    DEFAULT_MLM_RECIPE,
    MLMRecipe,
    build_mlm,
    fill_mask_accuracy,
    load_mlm,
    masked_eval_set,
    mlm_dir,
    unigram_accuracy,
)
from autodistiller.augment._pipeline import AugmentationPipeline, build_pipeline, ordered_pipelines
from autodistiller.augment._pool import Neighbours, encode_texts, nearest_neighbours, unlabelled_pool
from autodistiller.augment._wordnet import WordNet, load_wordnet

__all__ = [
    "AUGMENTED_DIRNAME",
    "AUGMENTERS",
    "AugmentationPipeline",
    "Augmenter",
    "BackTranslationAugmenter",
    "ContextualAugmenter",
    "DEFAULT_MLM_RECIPE",
    "EDAAugmenter",
    "GloVe",
    "MLMRecipe",
    "Neighbours",
    "NoAugmenter",
    "RandomSwapAugmenter",
    "STOP_WORDS",
    "WordNet",
    "augmented_copies",
    "augmented_key",
    "build_mlm",
    "build_pipeline",
    "encode_texts",
    "epoch_copy",
    "fill_mask_accuracy",
    "load_glove",
    "load_mlm",
    "load_translator",
    "load_wordnet",
    "masked_eval_set",
    "mlm_dir",
    "nearest_neighbours",
    "ordered_pipelines",
    "unigram_accuracy",
    "unlabelled_pool",
]
