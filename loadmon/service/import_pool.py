"""Decoding import files in worker processes (``[fit] workers``) while the importing process stores them in order.

The pure, CPU-heavy part of an import (FIT, GPX or TCX bytes -> :class:`ActivityRecord`) runs in a
:class:`concurrent.futures.ProcessPoolExecutor`; reading the bytes (zip members, size limits), the
sha256, the duplicate check and every database write stay in the importing process
(:func:`loadmon.service.imports.import_paths`). A worker gets a :class:`DecodeJob` (the bytes and
the reader's settings, all picklable) and returns a :class:`Decoded`: the reader's result, or the
failure text of a broken or implausible file, worded as the serial path words it.

Start method: ``forkserver`` where the platform has it (Linux), else ``spawn``; never ``fork``. The
importing process holds an open database connection (a PostgreSQL socket, a SQLite file and its
locks) and may run threads (the web app, the daemon's scheduler): a forked worker would inherit
them, and a child closing or garbage-collecting an inherited connection can break the parent's.
The fork server is a fresh interpreter that preloads this module (the decoders) once; workers are
forked from it, so they start quickly and hold no connection.

A worker process that dies (killed, out of memory) breaks the pool: :class:`DecodePool` logs it
once and decodes that file and every later one in the importing process, so no file is lost.
Workers ignore SIGINT: Ctrl-C interrupts the importing process, which shuts the pool down.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from connectors.fit.reader import FitReadResult, read_fit
from connectors.tracks import read_track
from loadmon.errors import ImplausibleValueError, ImportFileError, LoadmonError, StorageError
from loadmon.logs import get_logger

log = get_logger(__name__)

#: An import with fewer files to decode than this many per worker decodes them in the importing process: starting
#: the pool (0.5-1.5 s: the fork server is a fresh interpreter importing the decoders and loadmon.service) costs
#: more than two cores save on fewer files (a one-hour run at 1 s decodes in 65-80 ms).
MIN_FILES_PER_WORKER = 8
#: Files handed to the pool and not yet stored, per worker: bounds the bytes and results held in memory.
IN_FLIGHT_PER_WORKER = 2

#: Test hook: a picklable function run first in every worker process (e.g. to make the decoder crash on one file).
worker_hook: Callable[[], None] | None = None


def cpu_count() -> int:
    """The CPUs this process may run on (``os.process_cpu_count`` on Python 3.13+, the affinity mask before)."""
    counter = getattr(os, "process_cpu_count", None)
    if counter is not None:
        count = counter()
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count()
    return max(1, count or 1)


def resolve_workers(configured: int) -> int:
    """``[fit] workers``: 0 is the number of CPUs; 1 decodes in the importing process (no pool)."""
    return configured if configured > 0 else cpu_count()


@dataclass(frozen=True, kw_only=True, slots=True)
class DecodeJob:
    """What a worker needs to read one file: its bytes (gunzipped) and the reader's settings."""

    name: str
    format: str  # fit | gpx | tcx
    data: bytes
    hysteresis_m: float
    allow_truncated: bool
    now: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Decoded:
    """A worker's answer: the reader's result, or ``failure`` (the file's problem, as the import reports it)."""

    parsed: FitReadResult | None = None
    failure: str | None = None
    transient: bool = False


def within(text: str, name: str) -> str:
    """``text`` without a leading file ``name`` (the summary lists it next to the file already)."""
    return text[len(name) :].lstrip(": ") if text.startswith(name) else text


def failure_of(exc: LoadmonError, name: str) -> tuple[str, bool]:
    """The reason a file failed and whether the failure is the database's (worth a retry), not the file's."""
    if isinstance(exc, ImportFileError):
        return exc.problem, False
    if isinstance(exc, ImplausibleValueError):
        where = within(exc.source, name)
        return f"{where + ': ' if where else ''}{exc.field} = {exc.value} is not plausible (allowed: {exc.allowed}); not imported", False
    return str(exc), isinstance(exc, StorageError)


def decode(job: DecodeJob) -> Decoded:
    """Read one file (in a worker or in the importing process: the same code, the same result)."""
    try:
        if job.format == "fit":
            parsed = read_fit(job.data, name=job.name, hysteresis_m=job.hysteresis_m, allow_truncated=job.allow_truncated, now=job.now)
        else:  # gpx, tcx
            parsed = read_track(job.data, name=job.name, kind=job.format, hysteresis_m=job.hysteresis_m, now=job.now)
    except LoadmonError as exc:
        failure, transient = failure_of(exc, job.name)
        return Decoded(failure=failure, transient=transient)
    return Decoded(parsed=parsed)


def run_job(job: DecodeJob) -> Decoded:
    """The worker's entry point (looks ``decode`` up when called, so a test hook can replace it in the worker)."""
    return decode(job)


def _init_worker(hook: Callable[[], None] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's to handle
    if hook is not None:
        hook()


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


class DecodePool:
    """Worker processes for :func:`decode`, started on the first :meth:`submit`.

    After a worker crash (:class:`BrokenProcessPool`) the pool is shut down and every file, the
    crashed one and those in flight included, is decoded in this process instead."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.broken = False
        self._executor: ProcessPoolExecutor | None = None

    def submit(self, job: DecodeJob) -> Future[Decoded] | None:
        """The job's future, or None when the pool is broken (then :meth:`result` decodes it here)."""
        if self.broken:
            return None
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_init_worker, initargs=(worker_hook,))
            log.debug("import.pool", workers=self.workers)
        try:
            return self._executor.submit(run_job, job)
        except BrokenProcessPool:
            self._broke(job.name)
            return None

    def result(self, future: Future[Decoded] | None, job: DecodeJob) -> Decoded:
        if future is None:
            return decode(job)
        try:
            return future.result()
        except BrokenProcessPool:
            self._broke(job.name)
            return decode(job)

    def _broke(self, name: str) -> None:
        if self.broken:
            return
        self.broken = True
        log.warning(
            "import.pool_broken", file=name, detail="a decoding worker process died; this file and the rest are decoded in this process"
        )
        self.close(wait=False)

    def close(self, *, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
