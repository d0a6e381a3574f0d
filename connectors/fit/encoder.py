"""A small, strict FIT writer on top of ``garmin_fit_sdk.Encoder`` (tests, demo, benchmark).

Messages are written by their FIT profile name with fields in profile units (metres,
seconds, bpm, timezone-aware datetimes for ``date_time`` fields)::

    writer = FitFileWriter()
    writer.write("file_id", type="activity", manufacturer="development", serial_number=1,
                 time_created=start)
    writer.write("record", timestamp=start, distance=0.0, enhanced_altitude=120.0, heart_rate=140)
    data = writer.close()

Unlike the bare SDK encoder, an unknown message or field name raises ``ValueError`` instead
of being dropped silently, and ``None`` fields are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from garmin_fit_sdk import Encoder
from garmin_fit_sdk.profile import Profile

_MESG_NUMS: dict[str, int] = {name.lower(): num for name, num in Profile["mesg_num"].items()}


def _field_names(mesg_num: int) -> frozenset[str]:
    fields = Profile["messages"][mesg_num]["fields"]
    names = {f["name"] for f in fields.values()}
    for f in fields.values():
        names.update(sub["name"] for sub in f.get("sub_fields", []))
    return frozenset(names)


def local_datetime(utc_time: datetime, utc_offset_s: int) -> datetime:
    """A ``local_date_time`` value for the SDK encoder: the local wall time, labelled UTC."""
    return (utc_time.astimezone(UTC) + timedelta(seconds=utc_offset_s)).replace(tzinfo=UTC)


class FitFileWriter:
    """Builds one FIT file message by message; :meth:`close` returns the bytes (with CRCs)."""

    def __init__(self) -> None:
        self._encoder = Encoder()
        self._known: dict[int, frozenset[str]] = {}
        self._closed = False

    def write(self, message: str, **fields: Any) -> FitFileWriter:
        if self._closed:
            raise ValueError("FitFileWriter is closed")
        mesg_num = _MESG_NUMS.get(message.lower())
        if mesg_num is None:
            raise ValueError(f"unknown FIT message {message!r}")
        known = self._known.get(mesg_num)
        if known is None:
            known = self._known[mesg_num] = _field_names(mesg_num)
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)} for FIT message {message!r}")
        mesg = {name: value for name, value in fields.items() if value is not None}
        mesg["mesg_num"] = mesg_num
        self._encoder.write_mesg(mesg)
        return self

    def close(self) -> bytes:
        self._closed = True
        return bytes(self._encoder.close())
