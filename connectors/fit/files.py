"""Where FIT files come from: single files, folders, ``.fit.gz`` and ``.zip`` bulk exports.

:func:`iter_fit_inputs` expands the paths a user gives into one :class:`FitInput` per FIT file.
Bytes are read lazily (``FitInput.read()``), so a large export is never held in memory at once,
and every problem (unreadable zip or gzip, missing file, explicitly named non-FIT file, a file
over a size limit, a FIFO or device) is raised by that input's ``read()`` as
:class:`loadmon.errors.ImportFileError` (:class:`~loadmon.errors.CorruptFileError` for broken
data) naming it: one bad file never stops the iteration.

What is read: names ending ``.fit``, ``.gpx``, ``.tcx``, each also ``.gz`` (any case);
:attr:`FitInput.format` says which (``fit``, ``gpx``, ``tcx``). Inside folders and zip archives everything else (``.csv``, ``.json``, macOS ``__MACOSX/._*`` resource forks) is
ignored; zips inside folders and zips inside zips (Garmin's export nests them) are expanded. A
folder or archive with nothing importable gives one skipped input saying so.

Hostile input (:class:`InputLimits`, configured under ``[fit]``): every read is streamed and
bounded (never more than the limit + 1 byte is read), a file or archive member may expand to
at most ``max_file_mb``, the FIT members of one archive to ``max_archive_total_mb`` together,
and zips nest at most ``max_archive_depth`` deep. Only regular files are read: a FIFO, a device
or a symlink to one (``x.fit -> /dev/zero``) is refused without being opened for reading.
"""

from __future__ import annotations

import gzip
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO

from connectors.exports import EXPORT_CSV, StravaExportEntry, entry_for, parse_strava_activities_csv
from loadmon.errors import CorruptFileError, ImportFileError, UnsupportedFileError

MB = 1024 * 1024
_CHUNK = 1024 * 1024
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, ValueError, NotImplementedError)


@dataclass(frozen=True, kw_only=True, slots=True)
class InputLimits:
    """Size and nesting limits for what one import may expand (``[fit]`` ``max_*`` keys)."""

    max_file_mb: int = 100
    max_archive_total_mb: int = 4096
    max_archive_depth: int = 3  # zip inside zip inside zip


@dataclass(frozen=True, kw_only=True, slots=True)
class FitInput:
    """One FIT file to import. ``name`` is the display path ("export.zip!activities/1.fit").

    ``skip_reason``: set for an input that is reported but not read (an empty folder).
    """

    name: str
    loader: Callable[[], bytes] = field(repr=False, compare=False)
    skip_reason: str | None = None
    format: str = "fit"  # fit | gpx | tcx (the bytes read() gives, gunzipped)
    export: StravaExportEntry | None = None  # its row in a Strava export's activities.csv
    notices: tuple[str, ...] = ()  # about the export it came from (an unusable activities.csv row)

    def read(self) -> bytes:
        """The FIT bytes (gunzipped); raises :class:`ImportFileError` naming this input."""
        return self.loader()


def _kind(name: str) -> str | None:
    lower = name.lower()
    for suffix, kind in ((".fit", "fit"), (".fit.gz", "fit.gz"), (".zip", "zip"), (".gpx", "gpx"),
                         (".gpx.gz", "gpx.gz"), (".tcx", "tcx"), (".tcx.gz", "tcx.gz")):
        if lower.endswith(suffix):
            return kind
    return None


def _ignored(member: str) -> bool:
    parts = PurePosixPath(member).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._"))


def _failing(name: str, problem: str, error: type[ImportFileError] = CorruptFileError) -> FitInput:
    def fail() -> bytes:
        raise error(name, problem)

    return FitInput(name=name, loader=fail)


def _skipped(name: str, reason: str) -> FitInput:
    def skip() -> bytes:
        raise UnsupportedFileError(name, reason)

    return FitInput(name=name, loader=skip, skip_reason=reason)


class _Budget:
    """What the FIT members of one archive may still expand to (``max_archive_total_mb``)."""

    __slots__ = ("remaining", "limits")

    def __init__(self, limits: InputLimits) -> None:
        self.limits = limits
        self.remaining = limits.max_archive_total_mb * MB


def _too_big(name: str, key: str, mb: int) -> ImportFileError:
    return ImportFileError(name, f"expands to more than {mb} MB (limit fit.{key} = {mb}); not imported")


def _read_bounded(stream: IO[bytes] | gzip.GzipFile, limit: int, on_excess: Callable[[], ImportFileError]) -> bytes:
    """Read ``stream`` to its end, but never more than ``limit`` + 1 bytes (then ``on_excess()`` is raised)."""
    buffer = bytearray()
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer)
        buffer += chunk
        if len(buffer) > limit:
            raise on_excess()


def _describe_mode(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return "not a regular file"


def _open_regular(name: str, path: Path) -> IO[bytes]:
    """Open ``path`` for reading if it is (or a symlink points to) a regular file; never blocks."""
    try:
        mode = os.stat(path).st_mode  # follows symlinks; checked before open: opening a FIFO blocks
        if not stat.S_ISREG(mode):
            via = " (a symlink to it)" if path.is_symlink() else ""
            raise ImportFileError(name, f"{_describe_mode(mode)}{via}: only regular files are imported")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CorruptFileError(name, f"cannot read the file ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between stat and open
        os.close(fd)
        raise ImportFileError(name, "not a regular file: only regular files are imported")
    return os.fdopen(fd, "rb")


def _expand(name: str, stream: IO[bytes], gz: bool, limit: int, on_excess: Callable[[], ImportFileError]) -> bytes:
    if not gz:
        return _read_bounded(stream, limit, on_excess)
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            return _read_bounded(unzipped, limit, on_excess)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFileError(name, f"not a valid gzip file ({exc})") from exc


def _read_path(name: str, path: Path, gz: bool, limits: InputLimits) -> Callable[[], bytes]:
    def load() -> bytes:
        with _open_regular(name, path) as stream:
            try:
                return _expand(name, stream, gz, limits.max_file_mb * MB,
                               lambda: _too_big(name, "max_file_mb", limits.max_file_mb))
            except OSError as exc:
                raise CorruptFileError(name, f"cannot read the file ({exc.strerror or exc})") from exc

    return load


def _member_limit(name: str, budget: _Budget) -> tuple[int, Callable[[], ImportFileError]]:
    per_file = budget.limits.max_file_mb * MB
    if budget.remaining < per_file:
        return budget.remaining, lambda: _too_big(name, "max_archive_total_mb", budget.limits.max_archive_total_mb)
    return per_file, lambda: _too_big(name, "max_file_mb", budget.limits.max_file_mb)


def _read_member(name: str, archive: zipfile.ZipFile, member: str, gz: bool, budget: _Budget) -> Callable[[], bytes]:
    def load() -> bytes:
        limit, on_excess = _member_limit(name, budget)
        try:
            with archive.open(member) as stream:
                data = _expand(name, stream, gz, limit, on_excess)
        except ImportFileError:
            budget.remaining = max(0, budget.remaining - limit)  # what was expanded before the refusal counts too
            raise
        except _ZIP_ERRORS as exc:
            raise CorruptFileError(name, f"cannot extract from the zip archive ({exc})") from exc
        budget.remaining = max(0, budget.remaining - len(data))
        return data

    return load


def _extract_nested(name: str, archive: zipfile.ZipFile, member: str, budget: _Budget) -> IO[bytes]:
    """A zip inside a zip, copied (bounded) to a temporary file, not held in memory."""
    spool = tempfile.TemporaryFile()
    copied = 0
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                copied += len(chunk)
                if copied > budget.remaining:
                    raise _too_big(name, "max_archive_total_mb", budget.limits.max_archive_total_mb)
                spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _iter_zip(name: str, source: IO[bytes], depth: int, budget: _Budget) -> Iterator[FitInput]:
    try:
        archive = zipfile.ZipFile(source)
        members = sorted(info.filename for info in archive.infolist() if not info.is_dir())
    except _ZIP_ERRORS as exc:
        yield _failing(name, f"not a valid zip archive ({exc})")
        return
    exports, problems = _zip_exports(archive, members)
    found = False
    for member in members:
        kind = _kind(member)
        if kind is None or _ignored(member):
            continue
        found = True
        member_name = f"{name}!{member}"
        if kind == "zip":
            limit = budget.limits.max_archive_depth
            if depth >= limit:
                yield _failing(member_name, f"zip nested more than {limit} deep (limit fit.max_archive_depth = {limit}); "
                               "not expanded", ImportFileError)
                continue
            try:
                inner = _extract_nested(member_name, archive, member, budget)
            except ImportFileError as exc:
                yield _failing(member_name, exc.problem, ImportFileError)
                continue
            except _ZIP_ERRORS as exc:
                yield _failing(member_name, f"cannot extract from the zip archive ({exc})")
                continue
            yield from _iter_zip(member_name, inner, depth + 1, budget)
        else:
            entry = _export_entry(exports, member)
            yield FitInput(name=member_name, loader=_read_member(member_name, archive, member, kind.endswith(".gz"), budget),
                           format=kind.removesuffix(".gz"), export=entry, notices=tuple(problems) if entry else ())
    if not found:
        yield _skipped(name, "no importable files in the archive")


def _zip_exports(archive: zipfile.ZipFile, members: list[str]) -> tuple[dict[str, dict[str, StravaExportEntry]], list[str]]:
    """The ``activities.csv`` of a Strava export inside ``archive``, by the folder it lies in ("" at the root)."""
    out: dict[str, dict[str, StravaExportEntry]] = {}
    problems: list[str] = []
    for member in members:
        if PurePosixPath(member).name.lower() != EXPORT_CSV or _ignored(member):
            continue
        try:
            with archive.open(member) as handle:
                data = handle.read(64 * MB)
        except _ZIP_ERRORS:
            continue
        entries, bad = parse_strava_activities_csv(data)
        out[str(PurePosixPath(member).parent).strip(".")] = entries
        problems += bad
    return out, problems


def _export_entry(exports: dict[str, dict[str, StravaExportEntry]], member: str) -> StravaExportEntry | None:
    for folder, entries in exports.items():
        relative = member[len(folder) + 1:] if folder and member.startswith(folder + "/") else (member if not folder else None)
        if relative is not None:
            entry = entry_for(entries, relative)
            if entry is not None:
                return entry
    return None


def _folder_export(folder: Path) -> dict[str, StravaExportEntry]:
    csv_path = folder / EXPORT_CSV
    if not csv_path.is_file():
        return {}
    try:
        with csv_path.open("rb") as handle:
            return parse_strava_activities_csv(handle.read(64 * MB))[0]
    except OSError:
        return {}


def _iter_file(path: Path, name: str, limits: InputLimits) -> Iterator[FitInput]:
    kind = _kind(path.name)
    if kind == "zip":
        try:
            stream = _open_regular(name, path)
        except ImportFileError as exc:
            yield _failing(name, exc.problem, type(exc))
            return
        yield from _iter_zip(name, stream, 1, _Budget(limits))
    elif kind is not None:
        yield FitInput(name=name, loader=_read_path(name, path, kind.endswith(".gz"), limits), format=kind.removesuffix(".gz"))


def _iter_folder(folder: Path, limits: InputLimits) -> Iterator[FitInput]:
    export = _folder_export(folder)  # an unzipped Strava export: activities.csv at its root
    unreadable: list[OSError] = []
    found = False
    for root, dirs, files in os.walk(folder, onerror=unreadable.append):
        while unreadable:
            exc = unreadable.pop(0)
            found = True
            yield _failing(str(exc.filename or root), f"cannot read the folder ({exc.strerror or exc})", ImportFileError)
        dirs.sort()
        for file_name in sorted(files):
            if file_name.startswith("._"):
                continue
            path = Path(root) / file_name
            entry = entry_for(export, path.relative_to(folder).as_posix()) if export else None
            for item in _iter_file(path, str(path), limits):
                found = True
                yield replace(item, export=entry) if entry is not None and item.skip_reason is None else item
    for exc in unreadable:  # the last folders os.walk could not list
        found = True
        yield _failing(str(exc.filename or folder), f"cannot read the folder ({exc.strerror or exc})", ImportFileError)
    if not found:
        yield _skipped(str(folder), f"no importable files in {folder}")


def iter_fit_inputs(paths: Sequence[Path], limits: InputLimits | None = None) -> Iterator[FitInput]:
    """Expand files, folders (recursive), ``.zip`` archives and ``.fit.gz`` into FIT inputs.

    An explicitly named path that is missing or not FIT/zip gives an input whose ``read()``
    raises :class:`CorruptFileError`; empty folders give skipped inputs;
    inside folders and archives other non-FIT files are ignored.
    """
    limits = limits or InputLimits()
    for raw in paths:
        path = Path(raw)
        name = str(raw)
        if path.is_dir():
            yield from _iter_folder(path, limits)
        elif not path.exists():
            yield _failing(name, "no such file or folder")
        elif _kind(path.name) is None:
            yield _failing(name, "not a FIT file: expected a .fit, .fit.gz or .zip file")
        else:
            yield from _iter_file(path, name, limits)
