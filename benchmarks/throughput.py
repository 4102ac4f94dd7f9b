"""KD training throughput: AutoDistiller vs the Hugging Face `Trainer` KD subclass a user would write.

Same pipeline for all (the setup of ../shared/ANCHORS.md): MiniLM-L6 teacher fine-tuned on TREC-6 -> 2-layer
student initialised from the teacher's embeddings and first 2 layers; loss = 0.5 CE + 0.5 T^2 KL (T = 2) +
hidden-state MSE on 2 layer pairs (student 1, 2 <- teacher 3, 6); batch 32, AdamW lr 5e-5, linear decay,
clip 1.0; the same training examples and number of steps. Three rows:
- fixed-padding Trainer: a `Trainer` subclass overriding `compute_loss`, the teacher run each step, every
  text padded to 64 tokens, `torch.optim.AdamW` (`optim="adamw_torch"`);
- idiomatic Trainer: the same subclass as an HF user writes it: `DataCollatorWithPadding` (dynamic padding),
  `train_sampling_strategy="group_by_length"` and the Trainer's default optimizer (fused AdamW);
- AutoDistiller: `distill()`, the teacher's outputs read from the shared teacher-output cache (built once per
  search; its one-time cost is printed separately), length-bucketed batches with dynamic padding, fused AdamW.
  With `--frozen-embeddings` a fourth row runs it with `student.freeze_embeddings=true`.
Rounds are interleaved; the median samples/s of each row is reported. The last line is the headline figure:
AutoDistiller over the idiomatic Trainer.

    python benchmarks/throughput.py [--steps 60] [--rounds 3] [--frozen-embeddings]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frozen-embeddings", action="store_true",
                        help="also time AutoDistiller with student.freeze_embeddings=true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments

    import autodistiller as ad
    from autodistiller.engine import encode_splits, subset_indices
    from autodistiller.models import build_student

    examples = args.steps * args.batch_size
    task = ad.TaskSpec("suite:trec6").load()
    teacher = ad.fine_tune_teacher(task, training=ad.TrainingConfig(epochs=2, max_length=64,
                                                                     max_train_examples=2000, learning_rate=1e-4))
    config = ad.PipelineConfig.from_flat({
        "student.layers": 2, "student.init": "first", "loss.kind": "kl", "loss.temperature": 2.0, "loss.alpha": 0.5,
        "intermediate.objective": "hidden_mse", "intermediate.mapping": "uniform",
        "intermediate.include_embeddings": False, "training.epochs": 1, "training.batch_size": args.batch_size,
        "training.learning_rate": 5e-5, "training.warmup_ratio": 0.0, "training.max_grad_norm": 1.0,
        "training.max_length": 64, "training.max_train_examples": examples,
    })

    # ---- the Trainer baselines: the same KD subclass, fed two ways
    tok = teacher.tokenizer
    labels = task.labels("train")
    keep = subset_indices(labels, examples, seed=config.training.seed, classification=True)
    texts = [task.splits["train"][int(i)]["text"] for i in keep]
    fixed = tok(texts, padding="max_length", truncation=True, max_length=64, return_tensors="pt")
    fixed_rows = [{"input_ids": fixed["input_ids"][i], "attention_mask": fixed["attention_mask"][i],
                   "token_type_ids": fixed["token_type_ids"][i], "labels": int(labels[keep[i]])}
                  for i in range(len(keep))]
    dynamic = tok(texts, truncation=True, max_length=64)
    dynamic_rows = [{"input_ids": dynamic["input_ids"][i], "attention_mask": dynamic["attention_mask"][i],
                     "token_type_ids": dynamic["token_type_ids"][i], "labels": int(labels[keep[i]])}
                    for i in range(len(keep))]
    teacher_model = teacher.model.eval()

    class KDTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            with torch.no_grad():
                t = teacher_model(**inputs, output_hidden_states=True)
            s = model(**inputs, output_hidden_states=True)
            kl = F.kl_div(F.log_softmax(s.logits / 2, -1), F.softmax(t.logits / 2, -1), reduction="batchmean") * 4
            hidden = sum(F.mse_loss(s.hidden_states[i], t.hidden_states[j]) for i, j in ((1, 3), (2, 6)))
            loss = 0.5 * F.cross_entropy(s.logits, labels) + 0.5 * kl + hidden
            return (loss, s) if return_outputs else loss

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_train_end(self, *a, **k):
            self.seconds = time.perf_counter() - self.start

    def trainer_round(idiomatic: bool) -> float:
        student, _ = build_student(config.student, teacher_model)
        clock = Clock()
        with tempfile.TemporaryDirectory() as out:
            common = {"output_dir": out, "per_device_train_batch_size": args.batch_size, "max_steps": args.steps,
                      "learning_rate": 5e-5, "lr_scheduler_type": "linear", "max_grad_norm": 1.0,
                      "logging_strategy": "no", "save_strategy": "no", "report_to": [], "use_cpu": True,
                      "disable_tqdm": True, "dataloader_num_workers": 0, "seed": 42}
            if idiomatic:  # the Trainer's defaults otherwise: its default optimizer is fused AdamW
                targs = TrainingArguments(**common, train_sampling_strategy="group_by_length")
                trainer = KDTrainer(model=student, args=targs, train_dataset=dynamic_rows, processing_class=tok,
                                    data_collator=DataCollatorWithPadding(tok), callbacks=[clock])
            else:
                targs = TrainingArguments(**common, optim="adamw_torch")
                trainer = KDTrainer(model=student, args=targs, train_dataset=fixed_rows, callbacks=[clock])
            trainer.train()
        return args.steps * args.batch_size / clock.seconds

    # ---- AutoDistiller (first call builds the teacher-output cache: timed apart)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        split = encode_splits(task, tok, 64)["train"]
        from autodistiller.engine._teacher_cache import teacher_output_cache

        teacher_output_cache(teacher_model, split, teacher_key=teacher.key, hidden=True, cache_dir=cache,
                             log=lambda _: None)
        cache_seconds = time.perf_counter() - started

        def ours_round(frozen: bool = False) -> float:
            run = config.replace(**{"student.freeze_embeddings": frozen})
            result = ad.distill(run, task, teacher, cache_dir=cache, log=lambda _: None)
            return result.history[0]["train_samples_per_second"]

        rows: dict[str, list[float]] = {"fixed-padding Trainer": [], "idiomatic Trainer": [], "AutoDistiller": []}
        if args.frozen_embeddings:
            rows["AutoDistiller, frozen embeddings"] = []
        runs = {"fixed-padding Trainer": lambda: trainer_round(False), "idiomatic Trainer": lambda: trainer_round(True),
                "AutoDistiller": ours_round, "AutoDistiller, frozen embeddings": lambda: ours_round(True)}
        for r in range(args.rounds):
            for name in rows:
                rows[name].append(runs[name]())
            print(f"round {r + 1}: " + ", ".join(f"{name} {values[-1]:.1f}" for name, values in rows.items())
                  + " samples/s", flush=True)
    medians = {name: statistics.median(values) for name, values in rows.items()}
    print(f"teacher-output cache built once: {cache_seconds:.1f} s for {len(split)} training examples "
          "(logits + all hidden states, fp16)")
    print("| implementation | samples/s (median) | rounds | vs idiomatic Trainer |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {medians[name]:.1f} | {', '.join(f'{x:.1f}' for x in values)} | "
              f"{medians[name] / medians['idiomatic Trainer']:.2f}x |")
    print(f"command: python benchmarks/throughput.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"fixed_padding_ratio: {medians['AutoDistiller'] / medians['fixed-padding Trainer']:.2f}")
    if args.frozen_embeddings:
        print(f"frozen_embeddings_ratio: "
              f"{medians['AutoDistiller, frozen embeddings'] / medians['idiomatic Trainer']:.2f}")
    ratio = medians["AutoDistiller"] / medians["idiomatic Trainer"]
    print(f"idiomatic_ratio: {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
