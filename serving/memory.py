"""Keep a long-running server's memory flat: glibc malloc settings, applied at import.

Page-sized numpy arrays (a 1200x1700 page is 6 MB as uint8, 24 MB as float32) are
freed in a different order than they were allocated, by many threads. glibc's
defaults then fragment the heap: one arena per thread (up to 8 per core), each
keeping the free memory it once held. Two arenas, and a `malloc_trim` every few
seconds that hands free heap pages back to the system, keep the resident size at
what is really in use. (A fixed mmap threshold would do it too, but page faults on
every big array made the page work 60% slower; these two cost nothing measurable.)
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time

M_ARENA_MAX = -8  # from glibc's malloc.h

log = logging.getLogger("mangacolor")
_started = False


def tame_malloc(arenas: int = 2, trim_every_s: float = 5.0) -> bool:
    """Apply the settings where the C library is glibc; False (and nothing changed) elsewhere."""
    global _started
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_ARENA_MAX, arenas) == 1
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    if not ok:
        log.warning("mallopt refused M_ARENA_MAX; memory may grow under load")
    if trim_every_s > 0 and not _started:
        _started = True

        def trimmer():
            while True:
                time.sleep(trim_every_s)
                trim(0)

        threading.Thread(target=trimmer, name="malloc-trim", daemon=True).start()
    return ok
