"""Stage 2 of a KD pipeline: intermediate-layer distillation (objectives, layer mappings, MI critics).

Registries (their names are the YAML words, config values and Parquet cells):
``INTERMEDIATE_OBJECTIVES`` (``intermediate.objective``: none, hidden_mse, cosine, pkd, attention_mse, infonce,
nwj, tuba, mi_alpha), ``LAYER_MAPPINGS`` (``intermediate.mapping``: uniform, last, first, alp, ckd, emd) and
``MI_CRITICS`` (``intermediate.critic``: mlp, bilinear, transformer).
"""

from autodistiller.intermediate._critics import (
    MI_CRITICS,
    BilinearCritic,
    Critic,
    SeparableCritic,
    TransformerCritic,
)
from autodistiller.intermediate._features import (
    SCORES_ATTENTION,
    Representations,
    attention_scores,
    representations,
    valid_pairs_mask,
)
from autodistiller.intermediate._mappings import (
    LAYER_MAPPINGS,
    ALPMapping,
    CKDMapping,
    EMDMapping,
    FirstMapping,
    FixedMapping,
    LastMapping,
    LayerMapping,
    UniformMapping,
    contiguous_groups,
    transport_plan,
)
from autodistiller.intermediate._mutual_info import (
    NWJ,
    TUBA,
    InfoNCE,
    MIAlpha,
    MutualInformationObjective,
    gaussian_mutual_information,
    infonce_bound,
    interpolated_bound,
    log_loo_mean,
    nwj_bound,
    tuba_bound,
)
from autodistiller.intermediate._objectives import (
    INTERMEDIATE_OBJECTIVES,
    STAGE_PARAMETERS,
    AttentionMSE,
    CosineDistance,
    HiddenMSE,
    IntermediateObjective,
    NoIntermediate,
    PKDLoss,
    masked_token_mean,
)
from autodistiller.intermediate._stage import IntermediateDistillation, build_intermediate, model_dims

__all__ = [
    "INTERMEDIATE_OBJECTIVES",
    "LAYER_MAPPINGS",
    "MI_CRITICS",
    "NWJ",
    "SCORES_ATTENTION",
    "STAGE_PARAMETERS",
    "TUBA",
    "ALPMapping",
    "AttentionMSE",
    "BilinearCritic",
    "CKDMapping",
    "CosineDistance",
    "Critic",
    "EMDMapping",
    "FirstMapping",
    "FixedMapping",
    "HiddenMSE",
    "InfoNCE",
    "IntermediateDistillation",
    "IntermediateObjective",
    "LastMapping",
    "LayerMapping",
    "MIAlpha",
    "MutualInformationObjective",
    "NoIntermediate",
    "PKDLoss",
    "Representations",
    "SeparableCritic",
    "TransformerCritic",
    "UniformMapping",
    "attention_scores",
    "build_intermediate",
    "contiguous_groups",
    "gaussian_mutual_information",
    "infonce_bound",
    "interpolated_bound",
    "log_loo_mean",
    "masked_token_mean",
    "model_dims",
    "nwj_bound",
    "representations",
    "transport_plan",
    "tuba_bound",
    "valid_pairs_mask",
]
