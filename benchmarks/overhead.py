"""Per-trial overhead of a search: the share of a trial's wall time spent outside the distillation itself.

Runs a search of identical trials (a fixed 2-layer pipeline on TREC-6, long enough to take >= 30 s), one at a
time, and compares for every trial the driver's view (from Ray starting the trial to its meta-dataset row being
written: scheduling, worker start, shipping teacher and task, reporting, checkpointing, logging) with the time
`distill()` itself took (tokenization, teacher-output cache read, training, evaluation, latency measurement).
The last line is the median overhead share.

    python benchmarks/overhead.py [--trials 4] [--examples 3000] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

from ray.tune import Callback


class TrialClock(Callback):
    def __init__(self) -> None:
        self.start: dict[str, float] = {}
        self.wall: dict[str, float] = {}

    def on_trial_start(self, iteration, trials, trial, **info):
        self.start[trial.trial_id] = time.perf_counter()

    def on_trial_complete(self, iteration, trials, trial, **info):
        # runs after the meta-dataset logger (registered first), so the row is already written
        self.wall[trial.trial_id] = time.perf_counter() - self.start[trial.trial_id]


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)

    import autodistiller as ad

    task = ad.TaskSpec("suite:trec6").load()
    teacher = ad.fine_tune_teacher(task, training=ad.TrainingConfig(epochs=2, max_length=64,
                                                                     max_train_examples=2000, learning_rate=1e-4))
    space = ad.searcher.space_from_dict({"parameters": {
        "loss.kind": "kl", "student.layers": 2, "training.epochs": args.epochs, "training.max_length": 64,
        "training.max_train_examples": args.examples, "training.learning_rate": {"low": 5e-5, "high": 1e-4},
    }})
    clock = TrialClock()
    with tempfile.TemporaryDirectory() as storage:
        outcome = ad.search(task, space, trials=args.trials, max_concurrent=1, cpus_per_trial=2, storage=storage,
                            teacher=teacher, scheduler="fifo", callbacks=[clock], verbose=0, log=lambda _: None)
        frame = outcome.trials.set_index("trial_id")
    shares = []
    for trial_id, wall in clock.wall.items():
        inside = float(frame.loc[trial_id, "train_seconds"])
        shares.append(1 - inside / wall)
        print(f"trial {trial_id}: wall {wall:.1f} s, distill {inside:.1f} s, overhead {wall - inside:.1f} s "
              f"({shares[-1]:.1%})")
    print(f"command: python benchmarks/overhead.py {' '.join(sys.argv[1:])}".rstrip())
    share = statistics.median(shares)
    print(f"overhead_share: {share:.3f}")
    return share


if __name__ == "__main__":
    main()
