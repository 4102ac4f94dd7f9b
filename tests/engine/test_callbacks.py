"""Step-level progress: a bar (steps, loss, ETA) on a terminal, plain periodic lines otherwise, fed every N
steps by the training loop without a device sync per step."""

from __future__ import annotations

import copy
import io
import sys

import torch

from autodistiller import TrainingConfig
from autodistiller.engine import TrainingProgress, encode_splits, fine_tune_teacher, train_model
from autodistiller.prediction import hard_label_loss
from autodistiller.testing import one_torch_thread


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_say_step_loss_and_time_left():
    lines: list[str] = []
    progress = TrainingProgress("teacher: ", lines.append, bar=False, interval_s=0.0)
    progress.start(200)
    progress.update(50, 0, torch.tensor(25.0), 50)
    progress.update(100, 1, torch.tensor(12.0), 40)
    progress.close()
    assert lines[0].startswith("teacher: step 50/200 (25%), epoch 1, loss 0.5000, 0m00s elapsed, ~")
    assert lines[0].endswith("left") and lines[1].startswith("teacher: step 100/200 (50%), epoch 2, loss 0.3000")


def test_a_terminal_gets_a_bar_with_steps_and_loss():
    stream = _Terminal()
    progress = TrainingProgress("teacher: ", bar=None, stream=stream, every=10, loss_every=50)
    assert progress.bar  # the stream is a terminal
    progress.start(100)
    progress.update(50, 0, torch.tensor(10.0), 50)
    progress.write("teacher: epoch 1/2 ...")
    progress.close()
    text = stream.getvalue()
    assert "teacher" in text and "50/100" in text and "loss=0.2000" in text and "step/s" in text
    assert "teacher: epoch 1/2 ..." in text
    assert not TrainingProgress(stream=io.StringIO()).bar  # a file or pipe: plain lines


class _Recorder:
    every = 4

    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []
        self.total = self.closed = 0

    def start(self, total_steps: int) -> None:
        self.total = total_steps

    def update(self, step: int, epoch: int, loss_sum: torch.Tensor, epoch_steps: int) -> None:
        self.calls.append((step, float(loss_sum) / epoch_steps))

    def close(self) -> None:
        self.closed += 1


def test_the_loop_reports_every_n_steps(tiny_task, tiny_teacher):
    splits = encode_splits(tiny_task, tiny_teacher.tokenizer, 32)
    cfg = TrainingConfig(epochs=2, batch_size=16, max_length=32, learning_rate=1e-4)
    recorder = _Recorder()

    def loss_fn(model, batch, step):
        return hard_label_loss(model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits,
                               batch["labels"], is_regression=False)

    with one_torch_thread():
        train_model(copy.deepcopy(tiny_teacher.model), splits["train"], splits["validation"], loss_fn, cfg,
                    task_type="single", metric="accuracy", device=torch.device("cpu"), progress=recorder)
    assert recorder.total == 2 * 8 and recorder.closed == 1  # 128 rows / 16 per batch, 2 epochs
    assert [step for step, _ in recorder.calls] == [4, 8, 12, 16]  # every 4th step only: no sync per step
    assert all(0 < loss < 10 for _, loss in recorder.calls)


def test_teacher_fine_tuning_shows_a_bar_on_a_terminal(tiny_task, tiny_teacher, tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with one_torch_thread():
        fine_tune_teacher(tiny_task, backbone=tiny_teacher.backbone,
                          training=TrainingConfig(epochs=1, batch_size=8, max_length=32), cache_dir=tmp_path,
                          log=print)
    assert "teacher: " in terminal.getvalue() and "/16 [" in terminal.getvalue()  # tqdm's "n/total [elapsed<eta"
