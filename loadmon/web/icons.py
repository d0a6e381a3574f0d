"""The app's icons as PNG, drawn here with the standard library only (zlib + struct), no image
files and no imaging library: a rising load line over two peaks, white on the theme colour.

``icon_png(size)`` is made once per size and cached (the 512 px icon takes about 0.3 s, once).
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

#: The header's colour (style.css), also the manifest's theme colour.
THEME_COLOUR = "#12395b"
#: The icon sizes the manifest lists (Android needs 192 and 512).
ICON_SIZES = (192, 512)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG (no alpha, no interlace) of ``rgb``: ``width * height`` pixels of 3 bytes, row by row."""
    if len(rgb) != width * height * 3:
        raise ValueError(f"rgb: {len(rgb)} bytes, expected {width * height * 3}")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    stride = width * 3
    rows = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))  # filter: none
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return float(((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5)


#: The rising line, in units of the icon's side (inside the maskable safe zone, the middle 80%).
_LINE = ((0.2, 0.68), (0.38, 0.5), (0.52, 0.6), (0.8, 0.3))


@lru_cache(maxsize=len(ICON_SIZES))
def icon_png(size: int) -> bytes:
    """The square icon, ``size`` pixels a side."""
    if not 16 <= size <= 1024:
        raise ValueError(f"size: {size} is not between 16 and 1024")
    background, white = _rgb(THEME_COLOUR), (255, 255, 255)
    points = [(x * size, y * size) for x, y in _LINE]
    half_width = size * 0.045
    cover = [0.0] * (size * size)  # how much of each pixel the line covers (a one-pixel soft edge)
    for a, b in zip(points, points[1:], strict=False):  # only the pixels near each segment
        x0, x1 = int(min(a[0], b[0]) - half_width - 1), int(max(a[0], b[0]) + half_width + 2)
        y0, y1 = int(min(a[1], b[1]) - half_width - 1), int(max(a[1], b[1]) + half_width + 2)
        for y in range(max(y0, 0), min(y1, size)):
            for x in range(max(x0, 0), min(x1, size)):
                f = min(1.0, max(0.0, half_width + 0.5 - _segment_distance(x + 0.5, y + 0.5, a, b)))
                if f > cover[y * size + x]:
                    cover[y * size + x] = f
    rgb = bytearray(bytes(background) * (size * size))
    for i, f in enumerate(cover):
        if f:
            rgb[3 * i : 3 * i + 3] = bytes(round(bg + (w - bg) * f) for bg, w in zip(background, white, strict=True))
    return png(size, size, bytes(rgb))
