"""Writing files so that an interruption never leaves a truncated one behind."""
from __future__ import annotations

import itertools
import os

import numpy as np

_tmp_names = itertools.count()  # next() on a count is atomic under the GIL: unique per process


def atomic_write(path, write) -> None:
    """Call ``write(fh)`` on a new temporary file beside ``path``, then rename it over ``path``.

    A crash, Ctrl-C or full disk leaves the previous file intact and the
    temporary one removed. The temporary name keeps at most 40 characters of
    the target's, so any name the file system allows can be written.
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    # os.open applies the umask (mkstemp would make the file private), and
    # O_EXCL refuses a name a killed process left behind: the next is tried.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{name[:40]}.{os.getpid()}-{next(_tmp_names)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:  # name the file being saved, not its temporary name
            raise type(exc)(exc.errno, exc.strerror, path) from None
    try:
        with open(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def savez(path, **arrays) -> None:
    """``np.savez(path, **arrays)``, but atomic when ``path`` is a file name (see
    :func:`atomic_write`). Names follow ``np.savez``: ``".npz"`` is appended to a
    name that does not end in it; an open file is written as it is."""
    if hasattr(path, "write"):
        np.savez(path, **arrays)
        return
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    atomic_write(path, lambda fh: np.savez(fh, **arrays))
