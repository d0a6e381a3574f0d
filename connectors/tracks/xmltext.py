"""Reading GPX/TCX XML the way real exports write it (pure, standard library).

* A DTD or entity declaration is refused before parsing (GPX and TCX never need one; it is the
  door to entity-expansion attacks): :class:`~loadmon.errors.CorruptFileError`.
* Whitespace or a byte-order mark before the XML declaration (Polar's TCX export) is removed.
* A namespace prefix used but never declared (Strava's ``mapstogpx`` GPX uses ``gpxdata:``
  without declaring it) is declared on the root element with a placeholder URI, and the file is
  read with a warning; any other XML error is a :class:`~loadmon.errors.CorruptFileError`
  naming the file, line and column.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from loadmon.errors import CorruptFileError

__all__ = ["parse_xml", "local", "children", "child", "text_of"]

_DECLARED = re.compile(rb"xmlns:([A-Za-z_][\w.-]*)\s*=")
_USED = re.compile(rb"</?([A-Za-z_][\w.-]*):[A-Za-z_]")
_ROOT = re.compile(rb"<(?![?!])([A-Za-z_][\w.:-]*)")


def _repair_prefixes(data: bytes) -> tuple[bytes, list[str]]:
    declared = set(_DECLARED.findall(data)) | {b"xml", b"xmlns"}
    missing = sorted(set(_USED.findall(data)) - declared)
    if not missing:
        return data, []
    root = _ROOT.search(data)
    if root is None:
        return data, []
    decl = b"".join(b' xmlns:%s="urn:loadmon:undeclared:%s"' % (p, p) for p in missing)
    end = root.end()
    return data[:end] + decl + data[end:], [p.decode("ascii", "replace") for p in missing]


def parse_xml(data: bytes, *, name: str) -> tuple[ET.Element, list[str]]:
    """The root element of ``data`` and the warnings of what was repaired."""
    warnings: list[str] = []
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise CorruptFileError(name, "the XML declares a DTD or entities, which GPX and TCX never need: refused")
    stripped = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if stripped is not data and len(stripped) != len(data):
        warnings.append("text before the XML declaration removed")
    if not stripped:
        raise CorruptFileError(name, "the file is empty")
    try:
        return ET.fromstring(stripped), warnings
    except ET.ParseError as first:
        repaired, prefixes = _repair_prefixes(stripped)
        if prefixes:
            try:
                root = ET.fromstring(repaired)
            except ET.ParseError:
                pass
            else:
                warnings.append(
                    f"not well-formed XML: namespace prefix(es) {', '.join(prefixes)} used but never declared; read with them declared"
                )
                return root, warnings
        line, column = getattr(first, "position", (0, 0))
        raise CorruptFileError(name, f"not well-formed XML at line {line}, column {column} ({first})") from None


def local(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    """The direct children named ``name`` (any namespace)."""
    return [c for c in element if local(c.tag) == name]


def child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if local(c.tag) == name), None)


def text_of(element: ET.Element | None, name: str | None = None) -> str | None:
    """The stripped text of ``element`` (or of its child ``name``); None when absent or empty."""
    if element is not None and name is not None:
        element = child(element, name)
    if element is None or element.text is None:
        return None
    return element.text.strip() or None
