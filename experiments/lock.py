"""The lock that keeps two processes from writing one folder (a sweep folder, a calibration folder).

    lock = FolderLock(folder)
    if not lock.acquire():          # at once: True, or False when another process holds it
        ...                         # refuse
    try:
        ...                         # write the folder
    finally:
        lock.release()              # and DIR/_lock is gone

The lock is ``filelock.FileLock`` on ``DIR/_lock``: ``flock`` where the system has it,
the Windows lock on Windows. We use FileLock rather than SoftFileLock because the
operating system releases FileLock's lock when its process dies, however it dies:
a sweep killed with ``kill -9`` can be resumed at once, where a SoftFileLock (a file
whose existence is the lock) would be left behind and refuse every later process
until someone deletes it. FileLock leaves its file in place on release (on POSIX),
so :meth:`FolderLock.release` removes it while the lock is still held: a process
that opened the old file in that moment finds it unlinked and does not count its
lock, and a finished command leaves no ``_lock`` behind. A process killed while
holding the lock leaves the file, unlocked; the next process takes it and removes it.

Locks on NFS and other shared file systems are advisory at best: processes on two
machines may not see each other's lock there. Give each machine its own folder.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Self

LOCK = "_lock"


class FolderLock:
    """``DIR/_lock``, held by at most one process at a time (see the module doc)."""

    def __init__(self, folder: str | Path, name: str = LOCK):
        from filelock import FileLock

        self.path = Path(folder) / name
        # thread_local=False: the lock belongs to the process (a sweep may release it from another thread)
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._lock.is_locked

    def acquire(self) -> bool:
        """Take the lock at once: True, or False when another process (or another FolderLock) holds it.

        OSError when the lock file cannot be made (a read-only folder).
        """
        from filelock import Timeout

        try:
            with warnings.catch_warnings():
                # where flock is missing, filelock falls back to a soft lock with a warning (one more line on stderr)
                warnings.simplefilter("ignore")
                self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        """Give the lock up and remove ``DIR/_lock`` (nothing happens when it is not held)."""
        if not self._lock.is_locked:
            return
        with contextlib.suppress(OSError):  # removed while held (see the module doc); Windows removes it itself
            os.unlink(self.path)
        self._lock.release(force=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def held_by_another(folder: str | Path, name: str = LOCK) -> bool:
    """Whether a process holds ``DIR/_lock`` right now (a lock file left by a killed process is removed)."""
    if not (Path(folder) / name).exists():
        return False
    probe = FolderLock(folder, name)
    try:
        if not probe.acquire():
            return True
    except OSError:
        return False  # cannot even open it: nobody writes this folder through it
    probe.release()
    return False
