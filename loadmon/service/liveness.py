"""Is the daemon process alive? What ``loadmon daemon status`` checks besides the recorded runs.

The daemon records who it is in its ``daemon`` job run (``kind``, ``pid``, ``host``); its
single-instance lock tells whether any process still holds the database (a file lock next to
a SQLite file, a PostgreSQL advisory lock). A run recorded as ``running`` whose lock is free,
or whose process is gone, belongs to a daemon that was killed or crashed.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from loadmon.domain import JobRun
from loadmon.errors import LoadmonError
from loadmon.service.context import Service

KIND_DAEMON = "daemon"  # `loadmon daemon` (long-running); `--once` passes and the Celery scheduler record no kind


def identity(kind: str) -> dict[str, Any]:
    """What a long-running process records about itself in its ``daemon`` run."""
    return {"kind": kind, "pid": os.getpid(), "host": socket.gethostname()}


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:  # Linux: a killed child nobody reaped yet is 'Z'
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def daemon_liveness(svc: Service, last_run: JobRun | None) -> dict[str, Any]:
    """For the latest ``daemon`` run: ``lock_held`` (True/False, None when it cannot be known),
    ``pid`` and ``pid_alive`` (None when the run was recorded on another host or names no pid)."""
    from loadmon.storage.locks import daemon_lock_held

    try:
        held, _holder = daemon_lock_held(svc.store)
    except LoadmonError:
        held = None
    counts = last_run.counts if last_run is not None else {}
    pid = counts.get("pid")
    alive = pid_alive(pid) if isinstance(pid, int) and counts.get("host") == socket.gethostname() else None
    return {"lock_held": held, "pid": pid, "pid_alive": alive}


__all__ = ["KIND_DAEMON", "daemon_liveness", "identity", "pid_alive"]
