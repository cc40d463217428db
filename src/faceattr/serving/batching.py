"""Cross-request batching: concurrent requests share one network call.

Each request thread hands its face squares to :class:`MicroBatcher` and waits; one runner
thread takes everything that arrives within ``wait_ms`` of the first (up to ``max_faces``),
runs the network once and hands each request its rows back.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future

import numpy as np

from faceattr.inference.base import EngineBase
from faceattr.inference.scores import Scores


class MicroBatcher:
    """``batcher(squares) -> Scores``, thread-safe; batches across concurrent callers."""

    def __init__(self, engine: EngineBase, max_faces: int = 64, wait_ms: float = 4.0) -> None:
        self.engine, self.max_faces, self.wait = engine, max_faces, wait_ms / 1000
        self._queue: queue.Queue[tuple[np.ndarray, Future] | None] = queue.Queue()
        self.calls = 0  # network calls made (for tests and curiosity)
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the runner thread (after the calls already queued)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

    def __call__(self, squares: np.ndarray) -> Scores:
        if len(squares) == 0:
            return Scores(np.zeros((0, len(self.engine.attributes)), np.float32))
        done: Future = Future()
        self._queue.put((squares, done))
        return done.result()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:  # close()
                return
            items = [first]
            n = len(first[0])
            deadline = time.monotonic() + self.wait
            stop = False
            while n < self.max_faces:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:  # close(): answer what came before it, then stop
                    stop = True
                    break
                items.append(item)
                n += len(item[0])
            try:
                probs = self.engine.scores(np.concatenate([sq for sq, _ in items]))
            except Exception as e:  # handed to every waiting request
                for _, done in items:
                    done.set_exception(e)
                if stop:
                    return
                continue
            self.calls += 1
            start = 0
            for sq, done in items:
                done.set_result(probs[start:start + len(sq)])
                start += len(sq)
            if stop:
                return
