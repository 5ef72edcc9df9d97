import threading

import pytest

from ml.serving.batching import MicroBatcher


class Recorder:
    """``fn`` for a batcher: doubles each item, records the batches it was called with, and
    (while ``gate`` is closed) blocks so that callers pile up behind the running batch."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.started.set()
        self.gate.wait(5)
        return [2 * item for item in items]


def _callers(batcher: MicroBatcher[int, int], requests: list[list[int]]) -> list[list[int]]:
    results: list[list[int]] = [[] for _ in requests]

    def call(i: int) -> None:
        results[i] = batcher.run(requests[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    return results


def test_a_lone_caller_runs_at_once_with_its_own_results() -> None:
    fn = Recorder()
    batcher = MicroBatcher(fn, max_batch=8, max_wait_s=10.0)
    assert batcher.run([1, 2]) == [2, 4]
    assert batcher.run([]) == []
    assert fn.batches == [[1, 2]]  # idle: no waiting for company (10 s would time the test out)


def _during_a_batch(
    batcher: MicroBatcher[int, int], fn: Recorder, requests: list[list[int]]
) -> list[list[int]]:
    """The results of ``requests``, sent while a first caller's batch is running."""
    fn.gate.clear()
    first = threading.Thread(target=batcher.run, args=([0],))
    first.start()
    assert fn.started.wait(5)
    out: list[list[int]] = []
    waiting = threading.Thread(target=lambda: out.extend(_callers(batcher, requests)))
    waiting.start()
    while batcher._queue.qsize() < len(requests):
        pass
    fn.gate.set()
    waiting.join(5)
    first.join(5)
    return out


def test_callers_that_arrive_during_a_batch_share_the_next_one() -> None:
    fn = Recorder()
    batcher = MicroBatcher(fn, max_batch=8, max_wait_s=0.0)
    # Three turns arrive while the first one's forward pass runs.
    out = _during_a_batch(batcher, fn, [[1], [2, 3], [4]])
    assert out == [[2], [4, 6], [8]]
    assert len(fn.batches) == 2
    assert sorted(fn.batches[1]) == [1, 2, 3, 4]
    assert batcher.stats.callers == 4
    assert batcher.stats.largest == 4


def test_a_batch_never_exceeds_max_batch_and_keeps_a_callers_items_together() -> None:
    fn = Recorder()
    batcher = MicroBatcher(fn, max_batch=3, max_wait_s=0.0)
    out = _during_a_batch(batcher, fn, [[1, 2], [3, 4], [5]])
    assert out == [[2, 4], [6, 8], [10]]
    assert all(len(batch) <= 3 for batch in fn.batches)
    # No caller's items were split across two batches.
    for pair in ([1, 2], [3, 4]):
        assert any(set(pair) <= set(batch) for batch in fn.batches)


def test_an_error_reaches_every_caller_of_the_batch() -> None:
    def broken(items: list[int]) -> list[int]:
        raise ValueError(f"bad batch {items}")

    batcher = MicroBatcher(broken, max_batch=4, max_wait_s=0.0)
    with pytest.raises(ValueError, match="bad batch"):
        batcher.run([1])
    # The collector survives a failed batch.
    with pytest.raises(ValueError, match=r"bad batch \[2\]"):
        batcher.run([2])


def test_a_result_count_that_does_not_match_is_an_error() -> None:
    batcher = MicroBatcher(lambda items: items[:-1], max_batch=4, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="2 items gave 1 results"):
        batcher.run([1, 2])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(lambda items: items, max_batch=0)
    with pytest.raises(ValueError, match="max_wait_s"):
        MicroBatcher(lambda items: items, max_wait_s=-1)
