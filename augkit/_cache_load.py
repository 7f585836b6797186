"""Load augkit's cached numba code without numba's registry refresh.

Before numba loads a function from its on-disk cache it calls
``target_context.refresh()``: it imports every module that holds one of its
typing and lowering registries (the whole of ``numba.np``, ``numba.cpython``,
typed containers, jitclass ...) and installs them, which is what *compiling*
needs. One of those modules, ``numba.np.arraymath``, probes for BLAS at
import, which imports ``scipy.linalg``. In a fresh process with a warm cache
that refresh was most of augkit's first call (measured: ~0.45 s of registries
and ~0.3 s of scipy against ~0.35 s for ``import numba`` itself).

Loading needs none of it: a cached function is machine code that numba links
into its JIT, with its callees compiled in. The one piece of state the loaded
code does need is numba's runtime (NRT: allocation, reference counts), which
``refresh`` initialises as a side effect; here it is initialised explicitly.
Everything that compiles (a cache miss, a user's own ``@njit`` function)
still refreshes first, as numba always does, so nothing else changes.

This relies on three numba internals that have been stable for years
(``FunctionCache.load_overload`` refreshing then calling ``_load_overload``,
``_guard_against_spurious_io_errors``, ``rtsys.initialize``). When any of
them is missing, or ``AUGKIT_NUMBA_REFRESH=1`` is set, the dispatchers are
left alone and numba loads the usual way. A test loads every compiled entry
point in fresh processes both ways and compares the results.
"""
from __future__ import annotations

import functools
import os


def load_without_refresh(namespace):
    """Make each cached numba dispatcher in ``namespace`` load without the refresh; returns how many.

    First, when a dispatcher's source file lies in an installed package (see
    :func:`keep_cache_out_of_installed_packages`), its cache moves to a folder of the user's.
    """
    keep_cache_out_of_installed_packages(namespace)
    if os.environ.get("AUGKIT_NUMBA_REFRESH", "") not in ("", "0"):
        return 0
    try:
        from numba.core.caching import FunctionCache
        from numba.core.dispatcher import Dispatcher
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - a numba laid out differently
        return 0
    if not (callable(getattr(FunctionCache, "_load_overload", None))
            and callable(getattr(FunctionCache, "_guard_against_spurious_io_errors", None))
            and callable(getattr(rtsys, "initialize", None))):
        return 0  # pragma: no cover - a numba laid out differently
    count = 0
    for obj in list(namespace.values()):
        cache = getattr(obj, "_cache", None) if isinstance(obj, Dispatcher) else None
        if type(cache) is FunctionCache:
            cache.load_overload = _loader(cache, rtsys)
            count += 1
    return count


def _loader(cache, rtsys):
    def load_overload(sig, target_context):
        rtsys.initialize(target_context)   # idempotent: what the skipped refresh would have done first
        with cache._guard_against_spurious_io_errors():
            return cache._load_overload(sig, target_context)
        return None  # an I/O error was swallowed: numba compiles instead (and refreshes then)
    return load_overload


@functools.lru_cache(maxsize=None)   # one file system lookup per source file, not per function
def _installed(path) -> bool:
    """True when ``path`` lies in an installed package folder (``site-packages``, ``dist-packages``)."""
    return any(part in ("site-packages", "dist-packages") for part in os.path.realpath(path).split(os.sep))


def cache_folder() -> str:
    """Where augkit keeps numba's compiled code when it is installed: ``augkit/numba`` in the
    user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux)."""
    from numba.misc.appdirs import user_cache_dir
    return os.path.join(user_cache_dir("augkit", appauthor=False), "numba")


def keep_cache_out_of_installed_packages(namespace):
    """Give each cached dispatcher in ``namespace`` whose source file lies in an installed
    package an on-disk cache in :func:`cache_folder` instead of the package's ``__pycache__``.

    numba writes its cache beside the source when it can. In ``site-packages`` those files
    belong to no installed distribution: ``pip uninstall`` (which ``pip install -e`` runs over a
    regular install) leaves them behind, in an ``augkit`` folder without ``__init__.py``
    that Python then imports as an empty namespace package, hiding the editable install
    (``augkit`` and ``pytest`` failed with "module 'augkit' has no attribute ..."). Source
    checkouts (editable installs, a clone on ``sys.path``) keep the cache beside the source.
    A ``NUMBA_CACHE_DIR`` the user set applies as it always does, and when the user's folder
    cannot be written numba falls back to its usual places. Returns how many moved.
    """
    try:
        from numba.core import config
        from numba.core.caching import FunctionCache
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - a numba laid out differently
        return 0
    saved = getattr(config, "CACHE_DIR", None)
    if saved is None or saved:
        return 0   # NUMBA_CACHE_DIR is set: numba already keeps every cache there
    moved = [obj for obj in list(namespace.values())
             if isinstance(obj, Dispatcher) and type(getattr(obj, "_cache", None)) is FunctionCache
             and _installed(obj.py_func.__code__.co_filename)]
    if not moved:
        return 0
    config.CACHE_DIR = cache_folder()
    try:
        for obj in moved:
            obj._cache = FunctionCache(obj.py_func)   # its locator is chosen now: the user's folder
    finally:
        config.CACHE_DIR = saved
    return len(moved)
