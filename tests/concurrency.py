"""Real concurrency for tests: calls released at the same moment from their own threads."""
from __future__ import annotations

import threading
from typing import Callable, Sequence


def at_once(fn: Callable, args: Sequence[tuple]) -> list:
    """``fn(*a)`` for each ``a`` in ``args``, each in its own thread, all released together by a barrier;
    the results in the order of ``args`` (an exception is returned in its place)."""
    barrier = threading.Barrier(len(args))
    results: list = [None] * len(args)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(*args[i])
        except Exception as exc:  # the caller inspects it: a refusal can be the expected outcome
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
