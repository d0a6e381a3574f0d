"""Where FIT files come from: single files, folders, ``.fit.gz`` and ``.zip`` bulk exports.

:func:`iter_fit_inputs` expands the paths a user gives into one :class:`FitInput` per FIT file.
Bytes are read lazily (``FitInput.read()``), so a large export is never held in memory at once,
and every problem (unreadable zip or gzip, missing file, explicitly named non-FIT file) is
raised by that input's ``read()`` as :class:`loadmon.errors.CorruptFileError` naming it:
one bad file never stops the iteration.

What counts as FIT: names ending ``.fit`` or ``.fit.gz`` (any case). Inside folders and zip
archives, everything else (``.gpx``, ``.tcx``, ``.csv``, ``.json``, macOS ``__MACOSX/._*``
resource forks) is ignored; zips inside folders and zips inside zips (Garmin's export nests
them) are expanded.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from loadmon.errors import CorruptFileError

MAX_ZIP_DEPTH = 3  # zip inside zip inside zip


@dataclass(frozen=True, kw_only=True, slots=True)
class FitInput:
    """One FIT file to import. ``name`` is the display path ("export.zip!activities/1.fit")."""

    name: str
    loader: Callable[[], bytes] = field(repr=False, compare=False)

    def read(self) -> bytes:
        """The FIT bytes (gunzipped); raises :class:`CorruptFileError` naming this input."""
        return self.loader()


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".fit"):
        return "fit"
    if lower.endswith(".fit.gz"):
        return "fit.gz"
    if lower.endswith(".zip"):
        return "zip"
    return None


def _ignored(member: str) -> bool:
    parts = PurePosixPath(member).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._"))


def _failing(name: str, problem: str) -> FitInput:
    def fail() -> bytes:
        raise CorruptFileError(name, problem)

    return FitInput(name=name, loader=fail)


def _gunzip(name: str, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFileError(name, f"not a valid gzip file ({exc})") from exc


def _read_path(name: str, path: Path, gz: bool) -> Callable[[], bytes]:
    def load() -> bytes:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CorruptFileError(name, f"cannot read the file ({exc.strerror or exc})") from exc
        return _gunzip(name, raw) if gz else raw

    return load


def _read_member(name: str, archive: zipfile.ZipFile, member: str, gz: bool) -> Callable[[], bytes]:
    def load() -> bytes:
        try:
            raw = archive.read(member)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, ValueError) as exc:
            raise CorruptFileError(name, f"cannot extract from the zip archive ({exc})") from exc
        return _gunzip(name, raw) if gz else raw

    return load


def _iter_zip(name: str, source: Path | bytes, depth: int) -> Iterator[FitInput]:
    try:
        archive = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
        members = sorted(info.filename for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        yield _failing(name, f"not a valid zip archive ({exc})")
        return
    for member in members:
        kind = _kind(member)
        if kind is None or _ignored(member):
            continue
        member_name = f"{name}!{member}"
        if kind == "zip":
            if depth >= MAX_ZIP_DEPTH:
                continue
            try:
                inner = archive.read(member)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, ValueError) as exc:
                yield _failing(member_name, f"cannot extract from the zip archive ({exc})")
                continue
            yield from _iter_zip(member_name, inner, depth + 1)
        else:
            yield FitInput(name=member_name, loader=_read_member(member_name, archive, member, kind == "fit.gz"))


def _iter_file(path: Path, name: str) -> Iterator[FitInput]:
    kind = _kind(path.name)
    if kind == "zip":
        yield from _iter_zip(name, path, 1)
    elif kind is not None:
        yield FitInput(name=name, loader=_read_path(name, path, kind == "fit.gz"))


def _iter_folder(folder: Path) -> Iterator[FitInput]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for file_name in sorted(files):
            if file_name.startswith("._"):
                continue
            path = Path(root) / file_name
            yield from _iter_file(path, str(path))


def iter_fit_inputs(paths: Sequence[Path]) -> Iterator[FitInput]:
    """Expand files, folders (recursive), ``.zip`` archives and ``.fit.gz`` into FIT inputs.

    An explicitly named path that is missing or not FIT/zip gives an input whose ``read()``
    raises :class:`CorruptFileError`; inside folders and archives non-FIT files are ignored.
    """
    for raw in paths:
        path = Path(raw)
        name = str(raw)
        if path.is_dir():
            yield from _iter_folder(path)
        elif not path.exists():
            yield _failing(name, "no such file or folder")
        elif _kind(path.name) is None:
            yield _failing(name, "not a FIT file: expected a .fit, .fit.gz or .zip file")
        else:
            yield from _iter_file(path, name)
