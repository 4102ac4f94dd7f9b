"""Does ``torch.compile`` pay for student training here? The same distillation with ``training.compile`` off
and on: steady-state samples/s (epochs after the first) and the whole run's training seconds (compile included).

Pipeline: MiniLM-L6 teacher (cached) -> 2-layer student, KL (T 2, alpha 0.5), teacher logits from the cache,
length-bucketed batches of 32; ``--examples`` training examples for ``--epochs`` epochs. The last line is the
headline: steady-state speed-up of compiled training (> 1 means faster).

    python benchmarks/compile.py [--examples 2000] [--epochs 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics

import torch


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    import autodistiller as ad

    task = ad.TaskSpec("suite:trec6").load()
    teacher = ad.fine_tune_teacher(task, training=ad.TrainingConfig(epochs=2, max_length=64,
                                                                     max_train_examples=2000, learning_rate=1e-4))
    rows = {}
    for compiled in (False, True):
        cfg = ad.PipelineConfig.from_flat({
            "student.layers": 2, "loss.kind": "kl", "training.epochs": args.epochs, "training.max_length": 64,
            "training.max_train_examples": args.examples, "training.learning_rate": 1e-4,
            "training.compile": compiled})
        result = ad.distill(cfg, task, teacher, log=lambda _: None)
        speeds = [h["train_samples_per_second"] for h in result.history]
        rows[compiled] = (speeds[0], statistics.median(speeds[1:]), result.train_seconds, result.dev_score)
    print("| training | epoch 1 samples/s | later epochs samples/s | run seconds | dev score |")
    print("|---|---|---|---|---|")
    for compiled, (first, steady, seconds, dev) in rows.items():
        print(f"| {'torch.compile' if compiled else 'eager'} | {first:.0f} | {steady:.0f} | {seconds:.0f} | {dev:.4f} |")
    speedup = rows[True][1] / rows[False][1]
    print(f"compile_speedup: {speedup:.2f}")
    return speedup


if __name__ == "__main__":
    main()
