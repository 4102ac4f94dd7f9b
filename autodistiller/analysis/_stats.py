"""Bootstrap helpers: percentile confidence intervals of means and of pooled per-task statistics."""

from __future__ import annotations

import numpy as np

__all__ = ["boot_means", "percentile_ci"]


def boot_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` bootstrap means of ``values`` (resampled with replacement). One value gives a constant
    array (no spread can be estimated from it); no values give NaNs."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.full(n_boot, np.nan)
    if len(values) == 1:
        return np.full(n_boot, values[0])
    index = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[index].mean(axis=1)


def percentile_ci(samples: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap ``samples`` (NaN when there are none)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def check_level(level: float) -> None:
    from autodistiller.errors import ConfigError

    if not 0.0 < level < 1.0:
        raise ConfigError(f"level={level!r} must be in (0, 1), e.g. 0.95 for a 95% confidence interval.")


def check_n_boot(n_boot: int) -> None:
    from autodistiller.errors import ConfigError

    if int(n_boot) < 100:
        raise ConfigError(f"n_boot={n_boot!r} must be >= 100 bootstrap resamples (default 2000).")
