"""Model size and measured inference latency: part of every result."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from autodistiller.models._inputs import model_inputs

if TYPE_CHECKING:
    from autodistiller.tasks import EncodedSplit

__all__ = ["count_parameters", "measure_latency_ms"]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.inference_mode()
def measure_latencies_ms(models: list[nn.Module], split: EncodedSplit, device: torch.device | str = "cpu", *,
                         num_examples: int = 48, warmup: int = 4) -> list[float]:
    """Median milliseconds to classify one example (batch size 1) for each model, over the first
    ``num_examples`` examples of ``split``.

    The models take turns on each example, so a shared machine's load changes affect them alike and their ratio
    (the speed-up) is fair; batch size 1 is what an online service sees; the median resists noise.
    """
    device = torch.device(device)
    states = [(m.training, next(m.parameters()).device) for m in models]
    for model in models:
        model.eval().to(device)
    count = min(num_examples, len(split))
    indices = np.arange(count)
    timings: list[list[float]] = [[] for _ in models]
    for step, i in enumerate(np.concatenate([indices[:warmup], indices])):
        inputs = model_inputs({k: v.to(device) for k, v in split.collate(np.array([i])).items()})
        for model, times in zip(models, timings, strict=True):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(**inputs)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if step >= warmup:
                times.append(time.perf_counter() - start)
    for model, (training, original) in zip(models, states, strict=True):
        model.to(original).train(training)
    return [1000.0 * statistics.median(times) for times in timings]


def measure_latency_ms(model: nn.Module, split: EncodedSplit, device: torch.device | str = "cpu", *,
                       num_examples: int = 48, warmup: int = 4) -> float:
    """Median milliseconds per example at batch size 1 (see :func:`measure_latencies_ms`)."""
    return measure_latencies_ms([model], split, device, num_examples=num_examples, warmup=warmup)[0]
