"""Training-time augmentation policies (registry ``augment policy``): samples built during training.

Unlike the text augmenters (generated once, cached), these depend on the batch, the student or a generator
being trained, so they run inside the training step:

* ``mixkd`` (Liang et al., ICLR 2021): mixup of word embeddings of two examples, ``lambda ~ Beta(a, a)`` one per
  batch; teacher and student both read the same mixed input (each through its own embedding matrix) and the
  student matches the teacher there, hard labels mixed with the same ``lambda``.
* ``text_smoothing`` (Wu et al. 2022): ``t~ = lambda * onehot(t) + (1 - lambda) * softmax(MLM(t) / temp)`` at every
  position, fed through the embedding matrix (``t~ @ E``); inference uses the plain one-hot input.
* ``mate`` (MATE-KD, Rezagholizadeh et al., ACL 2021): a masked-LM generator rewrites a share of the tokens,
  made differentiable with a straight-through Gumbel-softmax. Max step: the generator ascends the
  teacher-student divergence; min step: the student descends
  ``1/3 CE(y) + 1/3 KD(generated) + 1/3 KD(original)``.
* ``minimax_knn`` (Minimax-kNN KD, Rezagholizadeh et al.): each example's K nearest unlabelled sentences
  (WikiText-2), re-ranked every epoch by the teacher-student divergence; the k1 hardest join the epoch with a
  KD-only loss.

A policy is a class with ``uses`` (its ``augment.*`` parameters), ``prepare(context)`` once per run,
``loss(...)`` per step and, for ``minimax_knn``, ``epoch_rows(epoch, model)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autodistiller.config import AugmentConfig
from autodistiller.errors import ConfigError
from autodistiller.models import model_inputs
from autodistiller.prediction import PredictionLoss, StepInfo
from autodistiller.registries import AUGMENT_POLICIES

__all__ = [
    "AUGMENT_POLICIES",
    "LABELLED",
    "PolicyContext",
    "TrainingPolicy",
    "build_policy",
    "gumbel_perturb",
    "mix_embeddings",
    "sample_mix_lambda",
    "smoothed_distribution",
]

#: per-row flag of training rows: False for rows without a gold label (KD loss only); kept on the host
LABELLED = "host_labelled"


@dataclass
class PolicyContext:
    """What a policy may read: the run's loss, teacher, tokenizer and data (given once, before training)."""

    loss: PredictionLoss
    teacher: nn.Module | None
    student: nn.Module
    tokenizer: Any
    device: torch.device
    seed: int
    is_regression: bool
    cache_dir: Any = None
    log: Callable[[str], None] = print
    #: the training subset (rows of the task's train split) a policy may retrieve for (minimax_knn), how to
    #: encode new texts, and the teacher's logits on encoded rows
    task: Any = None
    rows: np.ndarray | None = None
    encode: Callable[[list[str]], Any] | None = None
    teacher_logits: Callable[[Any], np.ndarray] | None = None
    #: a model's logits on encoded rows: ``predict(model, rows) -> [rows, outputs]`` (the engine's inference)
    predict: Callable[[nn.Module, Any], np.ndarray] | None = None

    def train_texts(self) -> list[str]:
        """The texts of the training subset (read only by the policies that need them)."""
        texts = np.asarray(self.task.splits["train"]["text"], dtype=object)
        return [str(t) for t in (texts if self.rows is None else texts[self.rows])]


class TrainingPolicy:
    """Base class: the default policy ``none`` (the step's loss as is)."""

    uses: ClassVar[tuple[str, ...]] = ()
    #: the teacher must run online in the training step (it reads inputs no cache holds)
    needs_online_teacher: ClassVar[bool] = False
    #: the policy needs soft targets (a KD loss): its samples have no gold label
    needs_teacher: ClassVar[bool] = False
    #: teacher and student must read the same tokens (inputs mixed or rewritten in embedding space, or new
    #: rows the teacher scores in the student's tokenization)
    needs_shared_vocabulary: ClassVar[bool] = False
    #: the policy adds training rows each epoch (:meth:`epoch_rows`), some without a gold label
    adds_rows: ClassVar[bool] = False
    #: the policy reads the student's word-embedding matrix itself (mixes, smooths or perturbs embeddings), so
    #: every row of it may train
    reads_embedding_matrix: ClassVar[bool] = False
    #: the masked LM of text_smoothing and mate (empty: the built MiniLM MLM asset)
    mlm: str = ""

    def __init__(self, **params: Any) -> None:
        for name, value in params.items():
            setattr(self, name, value)

    @property
    def name(self) -> str:
        return next((n for n, c in AUGMENT_POLICIES.items() if c is type(self)), type(self).__name__)

    def check_task(self, card: Any) -> None:
        """Refuse a task the policy cannot serve (called before any model loads)."""

    def prepare(self, context: PolicyContext) -> None:
        self.context = context

    def loss(self, model: nn.Module, batch: dict[str, Tensor], logits: Tensor, teacher_logits: Tensor | None,
             base: Tensor, step: StepInfo) -> Tensor:
        """The step's loss; ``base`` is the configured loss on the batch as it is."""
        return base

    def epoch_rows(self, epoch: int, model: nn.Module) -> Any:
        """Extra training rows for ``epoch`` (an ``EncodedSplit`` with ``teacher_logits``) or ``None``."""
        return None

    def parameters(self) -> list[nn.Parameter]:
        """Parameters trained with the student's optimizer (none: a generator has its own)."""
        return []


def build_policy(cfg: AugmentConfig) -> TrainingPolicy:
    """Instantiate ``cfg.policy`` with the ``augment.*`` parameters it uses."""
    cls = AUGMENT_POLICIES.get(cfg.policy, key="augment.policy")
    # augment.mlm is a resource, not a searched parameter: every policy gets it
    return cls(mlm=cfg.mlm, **{name: getattr(cfg, name) for name in cls.uses})


AUGMENT_POLICIES.register("none")(TrainingPolicy)


# ---------------------------------------------------------------------------------------------------------
# the math, as plain functions (tested on their own)
# ---------------------------------------------------------------------------------------------------------
def sample_mix_lambda(alpha: float, rng: np.random.Generator) -> float:
    """``lambda ~ Beta(alpha, alpha)``, drawn from the policy's own seeded stream."""
    return float(rng.beta(alpha, alpha))


def mix_embeddings(embeddings: Tensor, attention_mask: Tensor, lam: float, partner: Tensor
                   ) -> tuple[Tensor, Tensor]:
    """``lam * e_i + (1 - lam) * e_partner(i)``; the mask covers the tokens of both (the longer one's length)."""
    mixed = lam * embeddings + (1.0 - lam) * embeddings[partner]
    return mixed, torch.maximum(attention_mask, attention_mask[partner])


def smoothed_distribution(input_ids: Tensor, mlm_logits: Tensor, lam: float, temperature: float = 1.0) -> Tensor:
    """Text smoothing: ``lam * onehot(input_ids) + (1 - lam) * softmax(mlm_logits / temperature)``, rows sum to 1.

    ``input_ids``: [n]; ``mlm_logits``: [n, V] (the MLM's logits at those positions, on the unmasked input).
    """
    probs = F.softmax(mlm_logits.float() / temperature, dim=-1)
    one_hot = F.one_hot(input_ids, probs.shape[-1]).to(probs.dtype)
    return lam * one_hot + (1.0 - lam) * probs


def gumbel_perturb(logits: Tensor, tau: float, generator: torch.Generator | None = None) -> Tensor:
    """Straight-through Gumbel-softmax: one-hot rows forward, softmax((logits + g) / tau) gradients backward."""
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device).clamp_(1e-10, 1.0 - 1e-10)
    gumbel = -torch.log(-torch.log(uniform))
    soft = F.softmax((logits.float() + gumbel) / tau, dim=-1)
    hard = F.one_hot(soft.argmax(dim=-1), soft.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def _embed(model: nn.Module, distribution_or_ids: Tensor) -> Tensor:
    weight = model.get_input_embeddings().weight
    if distribution_or_ids.dtype in (torch.int64, torch.int32):
        return F.embedding(distribution_or_ids, weight)
    return distribution_or_ids.to(weight.dtype) @ weight


def _forward_embeds(model: nn.Module, batch: dict[str, Tensor], embeds: Tensor,
                    attention_mask: Tensor | None = None) -> Tensor:
    inputs = {k: v for k, v in model_inputs(batch).items() if k != "input_ids"}
    if attention_mask is not None:
        inputs["attention_mask"] = attention_mask
    return model(inputs_embeds=embeds, **inputs).logits


def _teacher_logits(teacher: nn.Module, batch: dict[str, Tensor], embeds: Tensor,
                    attention_mask: Tensor | None = None) -> Tensor:
    with torch.no_grad():
        return _forward_embeds(teacher, batch, embeds, attention_mask).float()


def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def _check_vocabulary(name: str, student: nn.Module, other: nn.Module, what: str) -> None:
    model_vocab = student.get_input_embeddings().weight.shape[0]
    size = other.get_input_embeddings().weight.shape[0]
    if size != model_vocab:
        raise ConfigError(f"augment.policy={name!r}: the {what} has a vocabulary of {size} tokens, the student "
                          f"{model_vocab}; they must share one (set augment.mlm to an MLM of the student's "
                          "tokenizer).")


def _load_policy_mlm(name_or_path: str, context: PolicyContext) -> nn.Module:
    from autodistiller.augment._mlm import load_mlm

    model, _ = load_mlm(name_or_path or None, context.cache_dir)
    return model.to(context.device)


# ---------------------------------------------------------------------------------------------------------
# policies
# ---------------------------------------------------------------------------------------------------------
@AUGMENT_POLICIES.register("mixkd")
class MixKDPolicy(TrainingPolicy):
    """MixKD: the student also learns from the teacher on mixed-up embeddings of random pairs of the batch.

    ``loss = loss(batch) + weight * [lam * loss(mixed, y_i) + (1 - lam) * loss(mixed, y_j)]`` with the
    configured prediction loss (its soft term against the teacher's logits on the same mixed input).
    """

    uses = ("mix_alpha", "weight")
    needs_online_teacher = True
    needs_shared_vocabulary = True
    reads_embedding_matrix = True
    mix_alpha: float
    weight: float

    def prepare(self, context: PolicyContext) -> None:
        super().prepare(context)
        self.rng = np.random.default_rng(context.seed)
        self.last_lambda = float("nan")

    def loss(self, model: nn.Module, batch: dict[str, Tensor], logits: Tensor, teacher_logits: Tensor | None,
             base: Tensor, step: StepInfo) -> Tensor:
        lam = sample_mix_lambda(self.mix_alpha, self.rng)
        self.last_lambda = lam
        partner = torch.from_numpy(self.rng.permutation(len(batch["input_ids"]))).to(logits.device)
        mixed, mask = mix_embeddings(_embed(model, batch["input_ids"]), batch["attention_mask"], lam, partner)
        student_logits = _forward_embeds(model, batch, mixed, mask)
        teacher_mixed = None
        teacher = self.context.teacher
        if teacher is not None and self.context.loss.needs_teacher:
            t_embeds, _ = mix_embeddings(_embed(teacher, batch["input_ids"]), batch["attention_mask"], lam, partner)
            teacher_mixed = _teacher_logits(teacher, batch, t_embeds, mask)
        labels = batch["labels"]
        loss_fn = self.context.loss
        mixed_loss = (lam * loss_fn(student_logits, teacher_mixed, labels, step)
                      + (1.0 - lam) * loss_fn(student_logits, teacher_mixed, labels[partner], step))
        return base + self.weight * mixed_loss


@AUGMENT_POLICIES.register("text_smoothing")
class TextSmoothingPolicy(TrainingPolicy):
    """Text smoothing: the student (and the teacher, for its targets) also read the MLM-smoothed input."""

    uses = ("smoothing_lambda", "smoothing_temperature", "weight")
    reads = ("mlm",)
    needs_online_teacher = True
    needs_shared_vocabulary = True
    reads_embedding_matrix = True
    smoothing_lambda: float
    smoothing_temperature: float
    weight: float
    mlm: str

    def prepare(self, context: PolicyContext) -> None:
        super().prepare(context)
        self.mlm_model = _load_policy_mlm(self.mlm, context).eval()
        self.mlm_model.requires_grad_(False)
        _check_vocabulary(self.name, context.student, self.mlm_model, "MLM")

    def _mlm_logits(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        from autodistiller.augment._mlm import masked_logits

        chosen = attention_mask.bool()
        with torch.no_grad():
            return masked_logits(self.mlm_model, input_ids, attention_mask, chosen), chosen

    def smoothed(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """[B, L, V] smoothed input distributions (padding keeps its one-hot)."""
        logits, chosen = self._mlm_logits(input_ids, attention_mask)
        out = F.one_hot(input_ids, logits.shape[-1]).float()
        out[chosen] = smoothed_distribution(input_ids[chosen], logits, self.smoothing_lambda,
                                            self.smoothing_temperature)
        return out

    def smoothed_embeddings(self, models: Sequence[nn.Module], input_ids: Tensor, attention_mask: Tensor
                            ) -> list[Tensor]:
        """``smoothed(...) @ E`` for each model's embedding matrix ``E``, without the [B, L, V] tensors:
        ``lambda * E[t] + (1 - lambda) * softmax(MLM(t) / temp) @ E`` at the real tokens."""
        logits, chosen = self._mlm_logits(input_ids, attention_mask)
        probs = F.softmax(logits.float() / self.smoothing_temperature, dim=-1)
        lam = self.smoothing_lambda
        out = []
        for model in models:
            embeds = _embed(model, input_ids)
            mixed = lam * embeds[chosen] + (1.0 - lam) * _embed(model, probs)
            out.append(embeds.masked_scatter(chosen[..., None], mixed.to(embeds.dtype)))
        return out

    def loss(self, model: nn.Module, batch: dict[str, Tensor], logits: Tensor, teacher_logits: Tensor | None,
             base: Tensor, step: StepInfo) -> Tensor:
        teacher = self.context.teacher if self.context.loss.needs_teacher else None
        embeds = self.smoothed_embeddings([model] if teacher is None else [model, teacher], batch["input_ids"],
                                          batch["attention_mask"])
        student_logits = _forward_embeds(model, batch, embeds[0])
        target = _teacher_logits(teacher, batch, embeds[1]) if teacher is not None else None
        return base + self.weight * self.context.loss(student_logits, target, batch["labels"], step)


@AUGMENT_POLICIES.register("mate")
class MATEPolicy(TrainingPolicy):
    """MATE-KD: a masked-LM generator trained to make the student disagree with the teacher.

    Every cycle of ``mate_generator_steps + mate_student_steps`` batches, the first ``mate_generator_steps``
    also take a generator (max) step; every batch takes the student (min) step
    ``1/3 hard(y) + 1/3 soft(generated) + 1/3 soft(original)`` with the configured loss's soft term (so with
    ``loss.kind=annealing`` the soft terms follow Annealing KD's schedule: the ``annealing_mate`` recipe).
    """

    uses = ("mate_mask_p", "mate_generator_steps", "mate_student_steps", "mate_generator_lr", "mate_gumbel_tau")
    reads = ("mlm",)
    needs_online_teacher = True
    needs_teacher = True
    needs_shared_vocabulary = True
    reads_embedding_matrix = True
    mate_mask_p: float
    mate_generator_steps: int
    mate_student_steps: int
    mate_generator_lr: float
    mate_gumbel_tau: float
    mlm: str

    def prepare(self, context: PolicyContext) -> None:
        super().prepare(context)
        # eval mode: no dropout (the samples come from the seeded Gumbel noise); its weights still train
        self.generator_model = _load_policy_mlm(self.mlm, context).eval()
        _check_vocabulary(self.name, context.student, self.generator_model, "generator MLM")
        self.optimizer = torch.optim.AdamW(self.generator_model.parameters(), lr=self.mate_generator_lr)
        self.rng = _generator(context.seed, context.device)
        tokenizer = context.tokenizer
        self.mask_id = tokenizer.mask_token_id
        if self.mask_id is None:
            raise ConfigError("augment.policy='mate' needs a tokenizer with a [MASK] token.")
        self.special = torch.tensor(sorted(set(tokenizer.all_special_ids)), device=context.device)
        self.generator_steps_taken = 0
        self.last_divergence = float("nan")

    def choose_positions(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Bernoulli(mate_mask_p) over real, non-special tokens; at least one per row where possible."""
        eligible = attention_mask.bool() & ~torch.isin(input_ids, self.special)
        draw = torch.rand(input_ids.shape, generator=self.rng, device=input_ids.device) < self.mate_mask_p
        chosen = eligible & draw
        # rows where the draw picked nothing get one random eligible token, so every example is perturbed
        # (computed for every row and masked: no data-dependent branch, no host-device sync)
        empty = ~chosen.any(dim=1) & eligible.any(dim=1)
        scores = torch.rand(input_ids.shape, generator=self.rng, device=input_ids.device) * eligible
        pick = F.one_hot(scores.argmax(dim=1), input_ids.shape[1]).bool()
        return chosen | (pick & empty[:, None])

    def perturb(self, input_ids: Tensor, attention_mask: Tensor, chosen: Tensor) -> Tensor:
        """[n_chosen, V] straight-through one-hot replacements for the ``chosen`` positions."""
        from autodistiller.augment._mlm import masked_logits

        masked = input_ids.masked_fill(chosen, self.mask_id)
        logits = masked_logits(self.generator_model, masked, attention_mask, chosen)
        return gumbel_perturb(logits, self.mate_gumbel_tau, self.rng)

    @staticmethod
    def perturbed_embeddings(model: nn.Module, input_ids: Tensor, chosen: Tensor, replacement: Tensor) -> Tensor:
        """The model's input embeddings with the chosen positions replaced by ``replacement @ E``."""
        embeds = _embed(model, input_ids)
        return embeds.masked_scatter(chosen[..., None], _embed(model, replacement))

    def divergence(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        if self.context.is_regression:
            return F.mse_loss(student_logits.float(), teacher_logits.float())
        return F.kl_div(F.log_softmax(student_logits.float(), -1), F.log_softmax(teacher_logits.float(), -1),
                        reduction="batchmean", log_target=True)

    def generator_step(self, model: nn.Module, batch: dict[str, Tensor]) -> float:
        """One max step: the generator ascends KL(teacher || student) on its own samples. Only the generator's
        parameters change (student and teacher gradients are not taken)."""
        teacher = self.context.teacher
        assert teacher is not None
        ids, mask = batch["input_ids"], batch["attention_mask"]
        chosen = self.choose_positions(ids, mask)
        replacement = self.perturb(ids, mask, chosen)
        student_logits = _forward_embeds(model, batch, self.perturbed_embeddings(model, ids, chosen, replacement))
        teacher_logits = _forward_embeds(teacher, batch, self.perturbed_embeddings(teacher, ids, chosen, replacement))
        divergence = self.divergence(student_logits, teacher_logits)
        params = [p for p in self.generator_model.parameters() if p.requires_grad]
        grads = torch.autograd.grad(-divergence, params, allow_unused=True)
        for p, g in zip(params, grads, strict=True):
            p.grad = None if g is None else g.detach()
        torch.nn.utils.clip_grad_norm_(params, 5.0)  # the paper's clip
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.generator_steps_taken += 1
        self.last_divergence = float(divergence.detach())
        return self.last_divergence

    def loss(self, model: nn.Module, batch: dict[str, Tensor], logits: Tensor, teacher_logits: Tensor | None,
             base: Tensor, step: StepInfo) -> Tensor:
        cycle = self.mate_generator_steps + self.mate_student_steps
        if step.step % cycle < self.mate_generator_steps:
            with torch.autocast(device_type=logits.device.type, enabled=False):  # the ascent in fp32
                self.generator_step(model, batch)
        ids, mask = batch["input_ids"], batch["attention_mask"]
        with torch.no_grad():
            chosen = self.choose_positions(ids, mask)
            replacement = self.perturb(ids, mask, chosen)
            teacher_generated = _forward_embeds(self.context.teacher, batch,
                                                self.perturbed_embeddings(self.context.teacher, ids, chosen,
                                                                          replacement)).float()
        student_generated = _forward_embeds(model, batch, self.perturbed_embeddings(model, ids, chosen, replacement))
        loss_fn = self.context.loss
        assert teacher_logits is not None
        soft_original = loss_fn.soft_term(logits, teacher_logits, step)
        if soft_original is None:  # the loss has no teacher term now (Annealing KD's stage 2): labels only
            return loss_fn.hard(logits, batch["labels"])
        soft_generated = loss_fn.soft_term(student_generated, teacher_generated, step)
        assert soft_generated is not None
        return (loss_fn.hard(logits, batch["labels"]) + soft_generated + soft_original) / 3.0


@AUGMENT_POLICIES.register("minimax_knn")
class MinimaxKNNPolicy(TrainingPolicy):
    """Minimax-kNN KD: the K nearest unlabelled WikiText-2 sentences of each example are retrieved once; every
    epoch the ``knn_keep`` of them on which the student diverges most from the teacher join the training rows
    (KD loss only, weighted by ``weight``)."""

    uses = ("knn_k", "knn_keep", "knn_method", "weight")
    needs_teacher = True
    needs_shared_vocabulary = True
    adds_rows = True
    supports_pair = False  # the pool holds single sentences (a search leaves it out on pair tasks)
    knn_k: int
    knn_keep: int
    knn_method: str
    weight: float

    def check_task(self, card: Any) -> None:
        if card.has_pair and not self.supports_pair:
            raise ConfigError(f"augment.policy='minimax_knn' retrieves single sentences; task {card.name!r} has "
                              "text pairs. Use another policy for pair tasks.")

    def prepare(self, context: PolicyContext) -> None:
        from autodistiller.augment._pool import nearest_neighbours, unlabelled_pool

        super().prepare(context)
        if (context.task is None or context.encode is None or context.teacher_logits is None
                or context.predict is None):
            raise ConfigError("minimax_knn needs the training texts, an encoder, the teacher's logits and a "
                              "predictor.")
        pool = unlabelled_pool(context.cache_dir)
        encoder = None
        if self.knn_method == "embedding":
            encoder = (context.teacher, context.tokenizer)
        found = nearest_neighbours(context.train_texts(), pool, self.knn_k, self.knn_method, encoder=encoder)
        candidates, inverse = np.unique(found.indices, return_inverse=True)
        self.neighbours = inverse.reshape(found.indices.shape)  # [examples, K] rows of the candidate split
        texts = [pool[int(i)]["text"] for i in candidates]
        self.candidates = context.encode(texts)
        self.candidate_teacher = context.teacher_logits(self.candidates)
        context.log(f"minimax_knn: {len(texts)} distinct neighbours ({self.knn_k} per example, {self.knn_method})")
        self.last_divergence = float("nan")

    def epoch_rows(self, epoch: int, model: nn.Module) -> Any:
        assert self.context.predict is not None
        student = torch.from_numpy(self.context.predict(model, self.candidates))
        teacher = torch.from_numpy(self.candidate_teacher.astype(np.float32))
        if self.context.is_regression:
            divergence = (student - teacher).pow(2).sum(-1)
        else:
            divergence = F.kl_div(F.log_softmax(student, -1), F.log_softmax(teacher, -1), reduction="none",
                                  log_target=True).sum(-1)
        per_example = divergence.numpy()[self.neighbours]  # [examples, K]
        hardest = np.argsort(-per_example, axis=1, kind="stable")[:, :self.knn_keep]
        rows = np.take_along_axis(self.neighbours, hardest, axis=1).reshape(-1)
        self.last_divergence = float(np.take_along_axis(per_example, hardest, axis=1).mean())
        return (self.candidates.subset(rows).with_extra("teacher_logits", self.candidate_teacher[rows])
                .with_extra(LABELLED, np.zeros(len(rows), dtype=np.bool_)))

