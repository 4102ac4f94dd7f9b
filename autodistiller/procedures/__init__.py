"""Training procedures (registry ``procedure``, the ``procedure.kind`` vocabulary).

* ``standard``: one teacher -> student run.
* ``takd`` (Mirzadeh et al. 2020): teacher -> assistant (``procedure.assistant_layers`` layers) -> student. The
  assistant is distilled once and cached on disk, keyed by the teacher and every setting it was trained with
  (not the student's size), so trials that differ only in the student reuse it.
* ``born_again`` (Furlanello et al. 2018): students with the teacher's architecture (it sets ``student.layers``
  to the teacher's depth and ``student.init=first``), started from the teacher's pretrained backbone (not its
  fine-tuned weights); generation g is taught by generation g - 1. With ``procedure.ensemble`` the generations'
  averaged predictions are scored too (``ensemble_*`` columns).
* ``teacher_free`` (Yuan et al. 2020): no teacher network is loaded; the soft targets are a hand-made
  distribution: label smoothing (``epsilon``) or the virtual teacher (``correct_prob`` on the gold class, the
  rest spread evenly), softened by ``loss.temperature`` like a teacher's logits. It sets the intermediate and
  augmentation stages to ``none``.
* ``self_distill``: no teacher; from epoch 2 on, the soft targets are the student's own predictions at the end
  of the previous epoch (epoch 1 learns from labels). It sets the intermediate and augmentation stages to none.
* ``annealing_mate``: Annealing KD's two stages (it sets ``loss.kind=annealing``) with MATE-KD's adversarial
  samples (it sets ``augment.policy=mate``) in stage 1: the seed slides' best GLUE recipe.
"""

from autodistiller.procedures._procedures import (
    PROCEDURES,
    Procedure,
    assistant_key,
    ensemble_metrics,
    virtual_teacher_logits,
)

__all__ = ["PROCEDURES", "Procedure", "assistant_key", "ensemble_metrics", "virtual_teacher_logits"]
