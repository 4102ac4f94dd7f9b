"""Stage 1: data augmentation. Text augmenters (registry ``augmenter``), pipelines of them, cached augmented
copies of a training split, the masked-LM asset behind ``contextual``, and the unlabelled pool of Minimax-kNN.

Registered augmenters (the ``augment.pipeline`` vocabulary): ``none``, ``random`` (word swap), ``eda``
(WordNet synonym replacement, random insertion, swap, deletion), ``contextual`` (TinyBERT: MLM top-k for
single-piece words, GloVe neighbours for the others), ``back_translation`` (Marian en -> fr -> en).

>>> import numpy as np
>>> pipeline = build_pipeline("random", params={"aug_p": 0.2})
>>> pipeline(["a b c d e"], np.random.default_rng(0))  # doctest: +SKIP

Training-time policies (registry ``augment policy``, the ``augment.policy`` vocabulary): ``none``, ``mixkd``,
``text_smoothing``, ``mate``, ``minimax_knn`` (see :mod:`autodistiller.augment._policies`).

How the engine (``distill``) uses the pipeline, per epoch as the Distiller code did: the copies of every epoch
(``augment.copies * augment.repeated_aug`` per example per epoch) are generated once per (task, pipeline,
parameters, seed) by ``augmented_copies`` and cached; they are tokenized, the teacher's logits on them are
computed once (content-keyed teacher-output cache), and epoch ``e`` trains on the original rows plus its own
fresh copies (with ``repeated_aug > 1`` an example and its versions share a batch).
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
from autodistiller.augment._policies import (
    AUGMENT_POLICIES,
    LABELLED,
    PolicyContext,
    TrainingPolicy,
    build_policy,
    gumbel_perturb,
    mix_embeddings,
    sample_mix_lambda,
    smoothed_distribution,
)
from autodistiller.augment._pool import Neighbours, encode_texts, nearest_neighbours, unlabelled_pool
from autodistiller.augment._wordnet import WordNet, load_wordnet

__all__ = [
    "AUGMENT_POLICIES",
    "AUGMENTED_DIRNAME",
    "AUGMENTERS",
    "LABELLED",
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
    "PolicyContext",
    "TrainingPolicy",
    "RandomSwapAugmenter",
    "STOP_WORDS",
    "WordNet",
    "augmented_copies",
    "augmented_key",
    "build_mlm",
    "build_pipeline",
    "build_policy",
    "gumbel_perturb",
    "mix_embeddings",
    "sample_mix_lambda",
    "smoothed_distribution",
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
