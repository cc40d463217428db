"""Worker processes that never outlive the process that started them.

``faceattr prepare`` and ``faceattr evaluate`` decode images in a process pool. If their parent
is killed (even with SIGKILL, which it cannot catch), each worker notices within half a second
that it has been re-parented and exits, instead of running on with nobody to report to.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

POLL_SECONDS = 0.5


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(POLL_SECONDS)


def _die_with_parent(parent: int) -> None:
    if os.getppid() != parent:
        os._exit(1)
    from faceattr.errors import show_warnings_as_notes

    show_warnings_as_notes()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="watch-parent").start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers end when this process ends, however it ends."""
    return ProcessPoolExecutor(workers, initializer=_die_with_parent, initargs=(os.getpid(),))
