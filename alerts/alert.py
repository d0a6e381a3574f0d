"""The alert record: what a rule found, in words and numbers, ready to store and deliver.

Pure: standard library and :mod:`loadmon.domain` only (``alerts.rules`` builds these and
must stay free of I/O). :meth:`Alert.to_dict` / :meth:`Alert.from_dict` give a JSON-safe
form so the store can keep an alert as one JSON value and the outbox can re-render it later.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from loadmon.domain import AlertSeverity

#: The value types a rule may put in :attr:`Alert.numbers` (all JSON-safe).
NumberValue = float | int | str | None

#: Version of the :meth:`Alert.to_dict` layout (bump when a field changes meaning).
ALERT_DICT_VERSION = 1

_TEXT_FIELDS = ("rule", "athlete_name", "title", "message", "rule_text", "evidence", "dedupe_key")


@dataclass(frozen=True, kw_only=True, slots=True)
class Alert:
    """One alert for one athlete on one local day.

    ``title`` says it in words (it becomes the e-mail subject and the push title, e.g.
    "Your week jumped 24%: 38.2 km after 30.8 km"); ``message`` says in plain language what
    happened and what to do ("Your last 7 days: 38.2 km, 24% more than the 7 days before
    (30.8 km) ... What to do: keep the next 7 days near ..."); ``numbers`` holds the inputs and
    computed numbers, in display order, keys with units (``last_7d_km``; a message shows only
    its rule's :data:`alerts.rules.SHOWN_NUMBERS`, the JSON keeps them all); ``rule_text`` the rule and its threshold in words; ``evidence`` the
    citation and how strong it is. ``dedupe_key`` identifies "the same alert" across runs
    (rule + athlete + day/activity), so the store never records it twice.
    """

    rule: str
    severity: AlertSeverity
    athlete_id: int
    athlete_name: str
    local_date: date
    activity_id: int | None
    title: str
    message: str
    numbers: Mapping[str, NumberValue] = field(hash=False)
    rule_text: str
    evidence: str
    dedupe_key: str
    #: The alert's page (``<[web] public_url>/alerts/<id>``), set when it is delivered; None without a public URL.
    link: str | None = None

    def __post_init__(self) -> None:
        try:
            severity = AlertSeverity(self.severity)
        except ValueError:
            allowed = ", ".join(s.value for s in AlertSeverity)
            raise ValueError(f"severity: {self.severity!r} is not one of {allowed}") from None
        object.__setattr__(self, "severity", severity)
        for name in _TEXT_FIELDS:
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name}: expected a string, got {type(getattr(self, name)).__name__}")
        for name in ("rule", "title", "dedupe_key"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name}: must not be empty")
        if not _is_int(self.athlete_id):
            raise ValueError(f"athlete_id: expected an integer, got {self.athlete_id!r}")
        if self.link is not None and not isinstance(self.link, str):
            raise ValueError(f"link: expected a string or None, got {type(self.link).__name__}")
        if self.activity_id is not None and not _is_int(self.activity_id):
            raise ValueError(f"activity_id: expected an integer or None, got {self.activity_id!r}")
        if not isinstance(self.local_date, date) or isinstance(self.local_date, datetime):
            raise ValueError(f"local_date: expected a date, got {self.local_date!r}")
        if not isinstance(self.numbers, Mapping):
            raise ValueError(f"numbers: expected a mapping, got {type(self.numbers).__name__}")
        numbers: dict[str, NumberValue] = {}
        for key, value in self.numbers.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"numbers: key {key!r} must be a non-empty string")
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, float):
                if not math.isfinite(value):
                    raise ValueError(f"numbers[{key!r}]: {value!r} is not a finite number (use None)")
            elif value is not None and not isinstance(value, (int, str)):
                raise ValueError(
                    f"numbers[{key!r}]: {type(value).__name__} is not allowed (float, int, str or None)"
                )
            numbers[key] = value
        object.__setattr__(self, "numbers", Numbers(numbers))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (``json.dumps`` works on it; PostgreSQL JSONB accepts it); ``link`` only when set."""
        out = {
            "version": ALERT_DICT_VERSION,
            "rule": self.rule,
            "severity": self.severity.value,
            "athlete_id": self.athlete_id,
            "athlete_name": self.athlete_name,
            "local_date": self.local_date.isoformat(),
            "activity_id": self.activity_id,
            "title": self.title,
            "message": self.message,
            "numbers": dict(self.numbers),
            "rule_text": self.rule_text,
            "evidence": self.evidence,
            "dedupe_key": self.dedupe_key,
        }
        if self.link is not None:
            out["link"] = self.link
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """Rebuild an alert from :meth:`to_dict` output; ``ValueError`` names the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"alert: expected a mapping, got {type(data).__name__}")
        version = data.get("version", ALERT_DICT_VERSION)
        if version != ALERT_DICT_VERSION:
            raise ValueError(f"version: unsupported alert layout {version!r} (expected {ALERT_DICT_VERSION})")
        missing = [
            name
            for name in (*_TEXT_FIELDS, "severity", "athlete_id", "local_date", "numbers")
            if name not in data
        ]
        if missing:
            raise ValueError(f"alert: missing field(s) {', '.join(missing)}")
        raw_date = data["local_date"]
        if isinstance(raw_date, str):
            try:
                local_date = date.fromisoformat(raw_date)
            except ValueError:
                raise ValueError(f"local_date: {raw_date!r} is not an ISO date (YYYY-MM-DD)") from None
        else:
            local_date = raw_date
        return cls(
            rule=data["rule"],
            severity=data["severity"],
            athlete_id=data["athlete_id"],
            athlete_name=data["athlete_name"],
            local_date=local_date,
            activity_id=data.get("activity_id"),
            title=data["title"],
            message=data["message"],
            numbers=data["numbers"],
            rule_text=data["rule_text"],
            evidence=data["evidence"],
            dedupe_key=data["dedupe_key"],
            link=data.get("link"),
        )


class Numbers(Mapping[str, NumberValue]):
    """A read-only, ordered, picklable mapping (``Alert.numbers``); equal to an equal dict."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, NumberValue]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> NumberValue:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Numbers({self._data!r})"

    def __reduce__(self) -> tuple[type[Numbers], tuple[dict[str, NumberValue]]]:
        return (Numbers, (self._data,))

    __hash__ = None  # type: ignore[assignment]  # like dict: compared, not hashed


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
