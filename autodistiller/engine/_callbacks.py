"""Per-epoch reports: what the search trainable forwards to ``ray.tune.report``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EpochReport", "EpochCallback", "PrintProgress"]


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
