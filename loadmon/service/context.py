"""The service context: configuration, store and injected clients, built once per process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loadmon.config import Config
from loadmon.domain import Athlete, athlete_name_problem
from loadmon.errors import NotFoundError, ValidationError
from loadmon.storage import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SeenFile:
    """One file as the watched-folder scanner last saw it."""

    size: int
    mtime_ns: int
    done: bool
    failures: int = 0  # scans in a row whose import of this file failed for a transient reason


@dataclass
class WatchState:
    """What the watched-folder scanner (:mod:`loadmon.service.watch`) saw last time, per file path."""

    seen: dict[str, SeenFile] = field(default_factory=dict)


@dataclass(kw_only=True)
class Service:
    """Everything the CLI and the daemon need; they call only this layer.

    Besides the configuration, the store and the clock, it carries this process's run-time state:
    ``stop`` (set on SIGTERM; long jobs check it between units of work: a file, an athlete, a
    Strava page), ``sleep`` (how waits are made: a simulated clock in tests) and ``watch_state``
    (the watched-folder scanner's memory between scans).
    """

    config: Config
    store: Store
    clock: Callable[[], datetime] = utc_now
    stop: threading.Event = field(default_factory=threading.Event)
    sleep: Callable[[float], None] = time.sleep
    watch_state: WatchState = field(default_factory=WatchState)

    @classmethod
    def open(cls, config: Config, *, clock: Callable[[], datetime] | None = None, migrate: bool | None = None) -> Service:
        """Open the configured database. SQLite (the embedded default) is created and upgraded
        on first use; PostgreSQL is upgraded too unless ``migrate`` is False."""
        store = Store.open(config.database_url, migrate_schema=True if migrate is None else migrate,
                           echo=config.database.echo, busy_timeout_s=config.database.busy_timeout_s)
        return cls(config=config, store=store, clock=clock or utc_now)

    def close(self) -> None:
        self.store.close()

    # -- athletes ------------------------------------------------------------------------------
    def athlete(self, name: str | None = None) -> Athlete:
        """The named athlete, or the single athlete (created with zero set-up when there is none)."""
        if name:
            try:
                return self.store.get_athlete(name)
            except NotFoundError:
                names = ", ".join(a.name for a in self.store.list_athletes()) or "none yet"
                raise NotFoundError(f"no athlete named {name!r} (athletes: {names}); create one with `loadmon athlete add`") from None
        athletes = self.store.list_athletes()
        if not athletes:
            return self.store.ensure_athlete(self.config.athlete.default_name, timezone_name=self.config.athlete.timezone)
        if len(athletes) == 1:
            return athletes[0]
        default = [a for a in athletes if a.name == self.config.athlete.default_name]
        if default:
            return default[0]
        raise ValidationError("several athletes exist (" + ", ".join(a.name for a in athletes) + "): pass --athlete NAME")

    def add_athlete(self, name: str, *, timezone_name: str | None = None, exist_ok: bool = True) -> Athlete:
        """Create the athlete (or return the existing one; with ``exist_ok=False`` an existing name is a
        :class:`ValidationError`). Names: at most 100 characters, no control characters."""
        name = name.strip()
        problem = athlete_name_problem(name)
        if problem:
            raise ValidationError(problem)
        if not exist_ok:
            try:
                self.store.get_athlete(name)
            except NotFoundError:
                pass
            else:
                raise ValidationError(f"athlete {name!r} already exists (`loadmon athlete list`; change its settings "
                                      f"with `loadmon --athlete {name!r} athlete set`)")
        return self.store.ensure_athlete(name, timezone_name=timezone_name or self.config.athlete.timezone)

    def set_athlete(self, athlete: Athlete, *, timezone_name: str | None = None, hr_rest: int | None = None,
                    hr_max: int | None = None, sex: str | None = None) -> Athlete:
        changes = athlete_changes(athlete, timezone_name=timezone_name, hr_rest=hr_rest, hr_max=hr_max, sex=sex)
        return self.store.update_athlete(athlete.id, **changes) if changes else athlete


def athlete_changes(athlete: Athlete, *, timezone_name: str | None = None, hr_rest: int | None = None,
                    hr_max: int | None = None, sex: str | None = None) -> dict[str, Any]:
    """The checked changes of :meth:`Service.set_athlete` (None: unchanged); a bad value is a
    :class:`ValidationError` naming its option (``--timezone: ...``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    changes: dict[str, Any] = {}
    if timezone_name is not None:
        try:
            ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"--timezone: unknown time zone {timezone_name!r} (use an IANA name such as Europe/London)") from None
        changes["timezone"] = timezone_name
    if hr_rest is not None:
        if not 20 <= hr_rest <= 120:
            raise ValidationError(f"--hr-rest: {hr_rest} is outside 20-120 bpm")
        changes["hr_rest"] = hr_rest
    if hr_max is not None:
        if not 100 <= hr_max <= 240:
            raise ValidationError(f"--hr-max: {hr_max} is outside 100-240 bpm")
        changes["hr_max"] = hr_max
    if sex is not None:
        if sex not in ("male", "female"):
            raise ValidationError(f"--sex: {sex!r} is not allowed (allowed: male, female)")
        changes["sex"] = sex
    rest = changes.get("hr_rest", athlete.hr_rest)
    mx = changes.get("hr_max", athlete.hr_max)
    if rest is not None and mx is not None and rest >= mx:
        raise ValidationError(f"--hr-rest ({rest}) must be below --hr-max ({mx})")
    return changes
