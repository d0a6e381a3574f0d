"""Storage layer: the only place that imports SQLAlchemy."""

from loadmon.storage.store import ImportOutcome, Store

__all__ = ["ImportOutcome", "Store"]
