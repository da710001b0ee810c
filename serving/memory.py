"""Keep a long-running server's memory flat: glibc malloc settings, applied at import.

Page-sized numpy arrays (a 1200x1700 page is 6 MB as uint8, 24 MB as float32) are
freed in a different order than they were allocated, by many threads. glibc's
defaults then fragment the heap: one arena per thread (up to 8 per core), and a
mmap threshold that rises to 32 MB after the first big free, so big arrays land in
arenas that never shrink. Two arenas and a fixed 1 MB mmap threshold send every
big array to its own mapping, returned to the system when it is freed.
(The same as MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 in the environment.)
"""

from __future__ import annotations

import ctypes
import logging

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # from glibc's malloc.h

log = logging.getLogger("mangacolor")


def tame_malloc(arenas: int = 2, mmap_threshold: int = 1 << 20) -> bool:
    """Apply the settings where the C library is glibc; False (and nothing changed) elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_ARENA_MAX, arenas) == 1 and libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
    except (OSError, AttributeError):
        return False
    if not ok:
        log.warning("mallopt refused the memory settings; memory may grow under load")
    return ok
