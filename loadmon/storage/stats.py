"""Count the SQL statements a piece of code sends (benchmarks and N+1 tests).

    with count_statements(store) as counter:
        club_status(svc)
    counter.count, counter.by_kind  # e.g. 7, {"SELECT": 7}

A SQLAlchemy ``before_cursor_execute`` listener on the store's engine, for every thread of
this process, removed on exit. ``executemany`` counts once (one round trip).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

if TYPE_CHECKING:  # pragma: no cover
    from loadmon.storage.store import Store


@dataclass
class StatementCounter:
    count: int = 0
    by_kind: Counter = field(default_factory=Counter)
    statements: list[str] = field(default_factory=list)
    keep: int = 0  # keep the text of the first ``keep`` statements
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
        kind = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        with self._lock:
            self.count += 1
            self.by_kind[kind] += 1
            if len(self.statements) < self.keep:
                self.statements.append(statement)


@contextmanager
def count_statements(store: Store, *, keep: int = 0) -> Iterator[StatementCounter]:
    counter = StatementCounter(keep=keep)
    event.listen(store.engine, "before_cursor_execute", counter._on_execute)
    try:
        yield counter
    finally:
        event.remove(store.engine, "before_cursor_execute", counter._on_execute)


__all__ = ["StatementCounter", "count_statements"]
