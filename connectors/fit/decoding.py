"""FIT bytes -> the few messages loadmon needs, grouped by FIT file (chunk).

Primary decoder: Garmin's ``garmin_fit_sdk`` (``Decoder.read`` with a message listener, raw
timestamps, no component expansion: the cheapest settings that still give every value we use).
Fallback: ``fitdecode`` (lenient field handling, strict CRC) for what the Garmin decoder
reports as unsupported (compressed-timestamp record headers).

Any other decoder error is a broken file and becomes :class:`loadmon.errors.CorruptFileError`
with a problem text that says what and where ("file CRC mismatch at byte 771", "truncated: ...").
``check_integrity()`` is deliberately not used as a gate: it rejects valid files whose header
CRC is 0 (allowed by the FIT spec).
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loadmon.errors import CorruptFileError

FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z as a Unix time
# FIT date_time values below this are "system time" (seconds since the device powered on).
MIN_ABSOLUTE_FIT_TIME = 0x10000000

MESG_FILE_ID = 0
MESG_SPORT = 12
MESG_SESSION = 18
MESG_RECORD = 20
MESG_ACTIVITY = 34

# One record as (timestamp FIT-seconds, distance m, altitude m, heart rate bpm); any may be None.
Record = tuple[int | None, float | None, float | None, int | None]


@dataclass(slots=True)
class DecodedChunk:
    """The messages of one FIT file inside the byte stream (chained files have several)."""

    file_id: dict[str, Any] | None = None
    sessions: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    sports: list[dict[str, Any]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)


@dataclass(slots=True)
class DecodedFit:
    chunks: list[DecodedChunk]
    decoder: str  # "garmin_fit_sdk" | "fitdecode"
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False  # the end of the data is missing (only with ``allow_truncated``)
    truncation: str | None = None  # then: what is missing and that the rest was imported (also in ``warnings``)

    @property
    def record_count(self) -> int:
        return sum(len(c.records) for c in self.chunks)


class _Collector:
    """Message listener: keeps file_id/sport/session/activity dicts and slim record tuples.

    A new chunk starts at every ``file_id`` message (FIT files inside a chained file each start
    with one; chunks without a file_id, e.g. HRM-Swim heart-rate uploads, stay with the previous).
    """

    __slots__ = ("chunks", "_chunk", "_records")

    def __init__(self) -> None:
        self._chunk = DecodedChunk()
        self.chunks = [self._chunk]
        self._records = self._chunk.records

    def __call__(self, mesg_num: int, mesg: dict[str, Any]) -> None:
        if mesg_num == MESG_RECORD:
            alt = mesg.get("enhanced_altitude")
            if alt is None:
                alt = mesg.get("altitude")
            self._records.append((mesg.get("timestamp"), mesg.get("distance"), alt, mesg.get("heart_rate")))
        elif mesg_num == MESG_SESSION:
            self._chunk.sessions.append(mesg)
        elif mesg_num == MESG_FILE_ID:
            if self._chunk.file_id is not None or self._chunk.sessions or self._records:
                self._chunk = DecodedChunk()
                self.chunks.append(self._chunk)
                self._records = self._chunk.records
            self._chunk.file_id = mesg
        elif mesg_num == MESG_ACTIVITY:
            self._chunk.activities.append(mesg)
        elif mesg_num == MESG_SPORT:
            self._chunk.sports.append(mesg)

    def result(self) -> list[DecodedChunk]:
        return [c for c in self.chunks if c.file_id is not None or c.sessions or c.records or c.activities]


def _check_header(data: bytes, name: str) -> None:
    if len(data) == 0:
        raise CorruptFileError(name, "empty file (0 bytes)")
    if data[0] not in (12, 14) or len(data) < 12 or data[8:12] != b".FIT":
        raise CorruptFileError(name, "not a FIT file (no '.FIT' file header)")


def _declared_size(data: bytes) -> int:
    """Size of the first FIT file as its header declares it (header + data + 2-byte CRC)."""
    return data[0] + struct.unpack_from("<I", data, 4)[0] + 2


_AT_BYTE = re.compile(r"at byte: (\d+)")


def _truncation_problem(data: bytes, position: int, records: int) -> str:
    declared = _declared_size(data)
    header_note = f"; the header declares {declared} bytes" if declared > len(data) else ""
    return (
        f"truncated: the message at byte {position} runs past the end of the data "
        f"(file is {len(data)} bytes{header_note}; {records} records readable before it)"
    )


def decode_fit(data: bytes, *, name: str, allow_truncated: bool = False) -> DecodedFit:
    """Decode ``data``; raise :class:`CorruptFileError` naming ``name`` when it is broken.

    ``allow_truncated``: a file whose only fault is that its end is missing (the last message
    runs past the end of the data; nothing decoded before it is affected) is returned with a
    warning instead of raising. Bad CRCs and mid-file corruption always raise.
    """
    _check_header(data, name)
    from garmin_fit_sdk import Decoder, Stream

    stream = Stream.from_byte_array(data)  # type: ignore[arg-type]  # annotated bytearray; reads any bytes
    collector = _Collector()
    _, errors = Decoder(stream).read(
        convert_datetimes_to_dates=False,
        expand_components=False,
        merge_heart_rates=False,
        mesg_listener=collector,
    )
    decoded = DecodedFit(chunks=collector.result(), decoder="garmin_fit_sdk")
    if not errors:
        return decoded
    error = errors[0]
    text = str(error)
    match = _AT_BYTE.search(text)
    position = int(match.group(1)) if match else stream.position()
    if "Compressed timestamp" in text:
        return _decode_with_fitdecode(data, name=name, allow_truncated=allow_truncated)
    if isinstance(error, IndexError) or "bytes remaining" in text:
        problem = _truncation_problem(data, stream.position(), decoded.record_count)
        if allow_truncated:
            decoded.truncation = f"{problem}; imported what was readable"
            decoded.warnings.append(decoded.truncation)
            decoded.truncated = True
            return decoded
        raise CorruptFileError(name, problem)
    if "CRC Error" in text:
        raise CorruptFileError(name, f"file CRC mismatch at byte {position}")
    if "not a fit file" in text.lower():
        raise CorruptFileError(
            name,
            f"corrupt data at byte {position}: {len(data) - position} bytes after the FIT data "
            "are not the header of a chained FIT file",
        )
    if "Invalid local message number" in text:
        raise CorruptFileError(
            name,
            f"corrupt data at byte {position}: a data message uses an undefined local message type "
            f"({decoded.record_count} records readable before it)",
        )
    detail = text.replace("FIT Runtime Error", "").strip(" :") or type(error).__name__
    raise CorruptFileError(name, f"corrupt data at byte {position}: {detail}")


# --------------------------------------------------------------------------- fitdecode fallback


def _fit_seconds(value: Any) -> Any:
    """fitdecode turns date_time values into datetimes; loadmon keeps raw FIT seconds."""
    if isinstance(value, datetime):
        return int(value.timestamp()) - FIT_EPOCH_S
    return value


_DATE_FIELDS = ("timestamp", "start_time", "time_created", "local_timestamp")


def _frame_dict(frame: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in frame.fields:
        if f.value is not None or f.name not in out:
            out[f.name] = f.value
    for key in _DATE_FIELDS:
        if key in out:
            out[key] = _fit_seconds(out[key])
    return out


def _decode_with_fitdecode(data: bytes, *, name: str, allow_truncated: bool) -> DecodedFit:
    import fitdecode

    collector = _Collector()
    notes: list[str] = []
    truncation: str | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fitdecode.FitReader(
                io.BytesIO(data),
                check_crc=fitdecode.CrcCheck.RAISE,
                error_handling=fitdecode.ErrorHandling.WARN,
            ) as reader:
                for frame in reader:
                    if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                        continue
                    num = frame.global_mesg_num
                    if num == MESG_RECORD:
                        alt = frame.get_value("enhanced_altitude", fallback=None)
                        if alt is None:
                            alt = frame.get_value("altitude", fallback=None)
                        collector._records.append(
                            (
                                _fit_seconds(frame.get_value("timestamp", fallback=None)),
                                frame.get_value("distance", fallback=None),
                                alt,
                                frame.get_value("heart_rate", fallback=None),
                            )
                        )
                    elif num in (MESG_FILE_ID, MESG_SESSION, MESG_ACTIVITY, MESG_SPORT):
                        collector(num, _frame_dict(frame))
        except fitdecode.FitCRCError as exc:
            raise CorruptFileError(name, f"CRC mismatch: {exc}") from exc
        except fitdecode.FitEOFError as exc:
            records = sum(len(c.records) for c in collector.chunks)
            problem = _truncation_problem(data, exc.offset, records)
            if not allow_truncated:
                raise CorruptFileError(name, problem) from exc
            truncation = f"{problem}; imported what was readable"
            notes.append(truncation)
        except fitdecode.FitHeaderError as exc:
            raise CorruptFileError(name, f"corrupt FIT header: {exc}") from exc
        except fitdecode.FitError as exc:
            raise CorruptFileError(name, f"corrupt data: {exc}") from exc
        except Exception as exc:  # fitdecode also fails with AssertionError/IndexError on garbage
            raise CorruptFileError(name, f"corrupt data: {type(exc).__name__}: {exc}") from exc
    notes.extend(f"fitdecode: {w.message}" for w in caught if "fitdecode" in (w.filename or ""))
    decoded = DecodedFit(
        chunks=collector.result(),
        decoder="fitdecode",
        warnings=["decoded with fitdecode: the Garmin decoder does not support compressed-timestamp records", *notes],
        truncated=truncation is not None,
        truncation=truncation,
    )
    return decoded
