"""An activity's elevation profile as stored: (distance m, altitude m) pairs packed as
little-endian float32 (8 bytes a point: 500 points are 4 KB), in ``activity_profiles``."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

__all__ = ["pack_profile", "unpack_profile"]

_POINT = struct.Struct("<ff")
_FLOAT32_MAX = 3.4e38


def pack_profile(points: Sequence[tuple[float, float]] | None) -> bytes | None:
    """The stored form of ``points`` (non-finite or float32-overflowing pairs dropped); ``None``
    when fewer than two points remain."""
    if not points:
        return None
    kept = [(d, a) for d, a in points if math.isfinite(d) and math.isfinite(a) and abs(d) < _FLOAT32_MAX and abs(a) < _FLOAT32_MAX]
    if len(kept) < 2:
        return None
    return b"".join(_POINT.pack(d, a) for d, a in kept)


def unpack_profile(data: bytes | None) -> tuple[tuple[float, float], ...] | None:
    """The points of a stored profile, each value rounded to 0.1 m (float32 holds ~7 digits)."""
    if not data or len(data) % _POINT.size:
        return None
    return tuple((round(d, 1), round(a, 1)) for d, a in _POINT.iter_unpack(data))
