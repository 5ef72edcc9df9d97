"""What one server process builds once and shares between its threads (models, clients)."""

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessWide(Generic[T]):
    """A zero-argument factory whose result is built once per process, also when many threads
    ask for it at the same moment (each request and socket runs in a thread of its own).

    ``functools.cache`` is not that: two threads that miss at once both build, and each keeps
    its own copy. For a stateful object that is a bug (a model loaded into one runtime and looked
    up in the other; a second Qdrant client refused the local folder the first holds).
    """

    def __init__(self, factory: Callable[[], T]):
        self.factory = factory
        self.lock = threading.Lock()
        self.built: list[T] = []
        functools.update_wrapper(self, factory)

    def __call__(self) -> T:
        if not self.built:
            with self.lock:
                if not self.built:
                    self.built.append(self.factory())
        return self.built[0]

    def cache_clear(self) -> None:
        """Forgets the object (tests: what a new process starts with)."""
        with self.lock:
            self.built.clear()


def process_wide(factory: Callable[[], T]) -> ProcessWide[T]:
    return ProcessWide(factory)
