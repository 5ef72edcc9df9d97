"""Cross-turn dynamic batching: concurrent callers share one forward pass.

A web process answers many customers at once, each turn in a thread of its own; every turn runs
the sentence encoder and its workspace's NLU adapter on one or two texts. A ``MicroBatcher`` puts
the texts of the turns that arrive together into one call of the model, as vLLM batches
generation: one forward pass over 12 short texts costs little more than over one.

    callers (threads) --run(items)--> queue --> collector thread --fn(batch)--> results

The collector takes what is queued. Under load (the last batch had more than one caller) it
waits up to ``max_wait_s`` for more before it runs, so turns that started a few milliseconds
apart meet; a caller that finds the process idle is never held back. A batch never holds more
than ``max_batch`` items; a caller's items always travel together. An exception in ``fn`` goes
to every caller of that batch.
"""

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Request(Generic[T, R]):
    items: list[T]
    done: threading.Event = field(default_factory=threading.Event)
    results: list[R] = field(default_factory=list)
    error: BaseException | None = None


@dataclass
class BatchStats:
    """What the batcher did: calls of ``fn``, the items and callers they carried."""

    batches: int = 0
    items: int = 0
    callers: int = 0
    largest: int = 0


class MicroBatcher(Generic[T, R]):
    """Runs ``fn`` (a list of items to a list of results, same order and length) for several
    concurrent callers at once; ``run`` blocks its caller until its own results are ready."""

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.004,
        name: str = "batcher",
    ):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_wait_s < 0:
            raise ValueError("max_wait_s must not be negative")
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.name = name
        self.stats = BatchStats()
        self._queue: queue.SimpleQueue[_Request[T, R]] = queue.SimpleQueue()
        self._held: _Request[T, R] | None = None  # taken from the queue, didn't fit the batch
        self._busy = False  # the last batch carried more than one caller
        self._start_lock = threading.Lock()
        self._collector: threading.Thread | None = None

    def run(self, items: Sequence[T]) -> list[R]:
        """``fn(items)``, computed in a batch with whatever other callers sent meanwhile."""
        request: _Request[T, R] = _Request(list(items))
        if not request.items:
            return []
        self._ensure_collector()
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.results

    def _ensure_collector(self) -> None:
        if self._collector is not None and self._collector.is_alive():
            return
        with self._start_lock:
            if self._collector is None or not self._collector.is_alive():
                self._collector = threading.Thread(
                    target=self._collect_forever, name=f"{self.name}-collector", daemon=True
                )
                self._collector.start()

    def _next_batch(self) -> list[_Request[T, R]]:
        first = self._held or self._queue.get()
        self._held = None
        batch, size = [first], len(first.items)
        deadline = time.monotonic() + (self.max_wait_s if self._busy else 0.0)
        while size < self.max_batch:
            timeout = deadline - time.monotonic()
            try:
                request = (
                    self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if size + len(request.items) > self.max_batch:
                self._held = request  # first in the next batch
                break
            batch.append(request)
            size += len(request.items)
        return batch

    def _collect_forever(self) -> None:
        while True:
            batch = self._next_batch()
            self._busy = len(batch) > 1 or self._held is not None
            flat = [item for request in batch for item in request.items]
            try:
                results = list(self.fn(flat))
                if len(results) != len(flat):
                    raise RuntimeError(
                        f"{self.name}: {len(flat)} items gave {len(results)} results"
                    )
            except BaseException as exc:  # every caller of the batch hears about it
                for request in batch:
                    request.error = exc
                    request.done.set()
                continue
            self.stats.batches += 1
            self.stats.items += len(flat)
            self.stats.callers += len(batch)
            self.stats.largest = max(self.stats.largest, len(flat))
            start = 0
            for request in batch:
                request.results = results[start : start + len(request.items)]
                start += len(request.items)
                request.done.set()
