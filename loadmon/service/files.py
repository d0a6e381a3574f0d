"""Files loadmon writes for the user (the HTML report): private and atomic."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from loadmon.errors import OutputFileError

__all__ = ["PRIVATE_MODE", "write_private_text"]

#: Owner read/write only: the report holds symptoms and health notes.
PRIVATE_MODE = 0o600


def write_private_text(path: Path, text: str) -> int:
    """Write ``text`` (UTF-8) to ``path`` with mode 0600; returns the bytes written.

    Atomic: the text goes to a temporary file created 0600 in the same folder (never readable
    by others, not even for a moment), is flushed to disk, then renamed over ``path``. A reader
    sees the old file or the new one, never half of one; an existing file with another mode is
    replaced by a 0600 one. On failure the old file is kept, the temporary file removed, and an
    :class:`OutputFileError` names the path.
    """
    path = Path(path)
    data = text.encode("utf-8")
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # POSIX; mkstemp already created it 0600
                os.fchmod(handle.fileno(), PRIVATE_MODE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputFileError(path=str(path), reason=exc.strerror or str(exc)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return len(data)
