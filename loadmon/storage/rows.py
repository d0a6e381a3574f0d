"""Small helpers over SQLAlchemy results shared by the storage modules."""

from __future__ import annotations

from typing import Any


def rowcount(result: Any) -> int:
    """The rows an UPDATE or DELETE touched: a ``CursorResult``'s ``rowcount`` (the typed
    ``Result`` that ``Session.execute`` is declared to return lacks it); 0 when unknown."""
    return int(getattr(result, "rowcount", 0) or 0)
