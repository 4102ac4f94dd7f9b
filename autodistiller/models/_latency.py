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
    from autodistiller.engine._data import EncodedSplit

__all__ = ["count_parameters", "measure_latency_ms"]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.inference_mode()
def measure_latency_ms(model: nn.Module, split: EncodedSplit, device: torch.device | str = "cpu", *,
                       num_examples: int = 48, warmup: int = 4) -> float:
    """Median milliseconds to classify one example (batch size 1) over the first ``num_examples`` examples.

    Batch size 1 is what an online service sees; the median resists the noise of a shared machine.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    original = next(model.parameters()).device
    model.to(device)
    count = min(num_examples, len(split))
    indices = np.arange(count)
    timings = []
    for step, i in enumerate(np.concatenate([indices[:warmup], indices])):
        batch = {k: v.to(device) for k, v in split.collate(np.array([i])).items()}
        inputs = model_inputs(batch)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        model(**inputs)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            timings.append(time.perf_counter() - start)
    model.to(original)
    model.train(was_training)
    return 1000.0 * statistics.median(timings)
