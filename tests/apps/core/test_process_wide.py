"""Process-wide objects are built once, also when many threads ask at once (issue 19: under
load, turns failed with "no NLU model loaded": two threads each built an NLU runtime, one
loaded the model into its copy, the other looked for it in the cached one)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from apps.core.process import ProcessWide, process_wide
from apps.core.vectors import qdrant_client
from apps.generation.services import engine_get
from apps.knowledge.services.runtime import dense_encoder, sparse_encoder
from apps.nlu.runtime import shared_runtime
from apps.safety.services import injection_detector


def test_threads_asking_at_once_share_one_object() -> None:
    builds: list[object] = []
    start = threading.Barrier(8)

    @process_wide
    def slow_model() -> object:
        made = object()
        builds.append(made)
        time.sleep(0.05)  # the window in which functools.cache builds twice
        return made

    def ask(_: int) -> object:
        start.wait()
        return slow_model()

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(ask, range(8)))
    assert len(builds) == 1
    assert all(obj is builds[0] for obj in got)


def test_cache_clear_builds_anew() -> None:
    counter = iter(range(10))
    numbers = process_wide(lambda: next(counter))
    assert (numbers(), numbers()) == (0, 0)
    numbers.cache_clear()
    assert numbers() == 1


@pytest.mark.parametrize(
    "factory",
    [shared_runtime, qdrant_client, dense_encoder, sparse_encoder, injection_detector, engine_get],
)
def test_the_process_models_and_clients_are_built_once(factory: object) -> None:
    assert isinstance(factory, ProcessWide)
