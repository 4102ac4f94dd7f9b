"""Interrupting a search: Ctrl-C (SIGINT) and SIGTERM (Kubernetes, Slurm, ``timeout``) both end it the way Ray
Tune ends it on Ctrl-C: the experiment state is saved, the running trials are stopped, and the search can be
resumed. The trials that were running get an ``interrupted`` row (not ``early_stopped``), which the resumed
search replaces.

Tune pickles its callbacks into the experiment (``tuner.pkl``) and a resumed search runs the unpickled ones,
so the callbacks hold only an experiment id; what belongs to the running process (the signal seen, how to
resolve a sampled pipeline, which needs the teacher) lives in a :class:`LiveSearch` registered by ``search``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ray.tune import Callback

from autodistiller.errors import AutoDistillerError

__all__ = ["InterruptWatch", "LiveSearch", "SearchInterrupted", "live_search", "running"]


class SearchInterrupted(AutoDistillerError):
    """The search was interrupted by ``signum``; its state is saved and ``resume`` continues it."""

    def __init__(self, signum: int, experiment_path: str, outcome: Any = None) -> None:
        self.signum = signum
        self.experiment_path = experiment_path
        self.outcome = outcome
        super().__init__(f"search interrupted by {signal.Signals(signum).name}; its state is saved in "
                         f"{experiment_path}.")

    @property
    def exit_code(self) -> int:
        """What a shell reports for a process ended by the signal: 128 + its number (130, 143)."""
        return 128 + self.signum


@dataclass
class LiveSearch:
    """The running process's side of a search."""

    #: (sampled config) -> (flat pipeline, resolved?) for a trial that never reported
    describe: Callable[[Mapping[str, Any]], tuple[dict[str, Any], bool]]
    signum: int | None = None

    @property
    def interrupted(self) -> bool:
        return self.signum is not None


_LIVE: dict[str, LiveSearch] = {}


def live_search(experiment_id: str) -> LiveSearch | None:
    return _LIVE.get(experiment_id)


@contextlib.contextmanager
def running(experiment_id: str, live: LiveSearch) -> Iterator[LiveSearch]:
    """Register ``live`` while ``fit`` runs, and give the process its own SIGINT / SIGTERM handlers back
    afterwards (Tune leaves its own installed)."""
    main = threading.current_thread() is threading.main_thread()
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) if main else None
    _LIVE[experiment_id] = live
    try:
        yield live
    finally:
        _LIVE.pop(experiment_id, None)
        if before is not None:
            signal.signal(signal.SIGINT, before[0])
            signal.signal(signal.SIGTERM, before[1])


class InterruptWatch(Callback):
    """Records SIGINT / SIGTERM during ``fit`` in the :class:`LiveSearch`, and hands both to Tune's stop.

    Installed from ``setup`` (called inside ``fit`` after Tune set its SIGINT handler), in the main thread
    only. A second signal gets the handler that was there before Tune: it ends the process at once.
    """

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = experiment_id

    def setup(self, **info: Any) -> None:
        live = live_search(self.experiment_id)
        if live is None or threading.current_thread() is not threading.main_thread():
            return
        tune_stop = signal.getsignal(signal.SIGINT)
        previous_term = signal.getsignal(signal.SIGTERM)

        def interrupted(signum: int, frame: Any) -> None:
            live.signum = live.signum or signum
            signal.signal(signal.SIGTERM, previous_term)
            if callable(tune_stop):
                tune_stop(signal.SIGINT, frame)  # Tune's graceful stop: save the state, stop the trials
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, interrupted)
        signal.signal(signal.SIGTERM, interrupted)
