"""Per-epoch reports (what the search trainable forwards to ``ray.tune.report``) and step-level progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

__all__ = ["EpochReport", "EpochCallback", "PrintProgress", "StepProgress", "TrainingProgress"]


@dataclass(frozen=True)
class EpochReport:
    """Metrics after one epoch. ``dev`` holds every dev metric, ``dev_score`` the task's primary one."""

    epoch: int
    num_epochs: int
    train_loss: float
    dev: dict[str, float]
    dev_score: float
    best_dev_score: float
    elapsed_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "dev_score": self.dev_score,
            "best_dev_score": self.best_dev_score,
            "elapsed_seconds": self.elapsed_seconds,
        }
        out.update({f"dev_{k}": v for k, v in self.dev.items()})
        out.update(self.extra)
        return out


#: called after every epoch; returning ``True`` stops training (e.g. a scheduler's decision)
EpochCallback = Callable[[EpochReport], "bool | None"]


class PrintProgress:
    """Print one line per epoch."""

    def __init__(self, prefix: str = "", log: Callable[[str], None] = print) -> None:
        self.prefix = prefix
        self.log = log

    def __call__(self, report: EpochReport) -> None:
        self.log(
            f"{self.prefix}epoch {report.epoch}/{report.num_epochs}  loss {report.train_loss:.4f}  "
            f"dev {report.dev_score:.4f} (best {report.best_dev_score:.4f})  {report.elapsed_seconds:.0f}s"
        )


class StepProgress(Protocol):
    """What :func:`~autodistiller.engine.train_model` tells about steps: ``start`` once, ``update`` every
    ``every`` optimisation steps (with the epoch's running loss sum, still on the device: reading it is a
    host-device sync, so an implementation reads it rarely), ``close`` at the end."""

    every: int

    def start(self, total_steps: int) -> None: ...

    def update(self, step: int, epoch: int, loss_sum: Any, epoch_steps: int) -> None: ...

    def close(self) -> None: ...


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class TrainingProgress:
    """Step-level progress of a long run (the teacher's fine-tuning): on a terminal a tqdm bar with steps, the
    running loss and the ETA; otherwise a plain line every ``interval_s`` seconds. The loss is read (a device
    sync) every ``loss_every`` steps at most. ``bar=None`` shows the bar when ``stream`` is a terminal.
    :meth:`write` prints a line without breaking the bar (the per-epoch lines go through it)."""

    def __init__(self, prefix: str = "", log: Callable[[str], None] = print, *, bar: bool | None = None,
                 stream: TextIO | None = None, every: int = 10, loss_every: int = 50,
                 interval_s: float = 30.0) -> None:
        self.prefix = prefix
        self.log = log
        self.stream = stream if stream is not None else sys.stderr
        self.bar = bar if bar is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = max(1, every)
        self.loss_every = max(self.every, loss_every)
        self.interval_s = interval_s
        self.total = 0
        self._bar: Any = None
        self._started = self._last_line = 0.0

    def start(self, total_steps: int) -> None:
        self.total = total_steps
        self._started = self._last_line = time.perf_counter()
        if self.bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total_steps, desc=self.prefix.rstrip(": ") or "training", unit="step",
                             file=self.stream, dynamic_ncols=True, leave=False)

    def update(self, step: int, epoch: int, loss_sum: Any, epoch_steps: int) -> None:
        now = time.perf_counter()
        if self._bar is not None:
            self._bar.update(step - self._bar.n)
            if step % self.loss_every == 0:
                self._bar.set_postfix(epoch=epoch + 1, loss=f"{float(loss_sum) / max(1, epoch_steps):.4f}")
            return
        if now - self._last_line < self.interval_s:
            return
        self._last_line = now
        elapsed = now - self._started
        done = step / max(1, self.total)
        left = f", ~{_duration(elapsed * (1 - done) / done)} left" if 0 < done < 1 else ""
        self.log(f"{self.prefix}step {step}/{self.total} ({done:.0%}), epoch {epoch + 1}, loss "
                 f"{float(loss_sum) / max(1, epoch_steps):.4f}, {_duration(elapsed)} elapsed{left}")

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            self.log(line)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
