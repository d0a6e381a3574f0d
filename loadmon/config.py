"""Configuration: one TOML file plus environment overrides, validated at start-up.

Where the file comes from: ``--config PATH``, else ``$LOADMON_CONFIG``, else
``config.toml`` in the user's config dir (platformdirs). A missing default file is fine
(every key has a default); a missing explicit file is an error.

Environment overrides: ``LOADMON_DATABASE_URL`` for ``database.url``, and
``LOADMON_<SECTION>__<KEY>`` (``LOADMON_ALERTS__EMAIL__SMTP_PORT=2525``) for every other key.
Lists in the environment are JSON (``["a","b"]``) or comma-separated.

The schema is the set of frozen dataclasses below: each field's ``doc`` metadata is its one-line
comment in ``config.example.toml`` (a test checks that the example lists every key with its
default). An unknown key, a wrong type or a bad URL raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import tomllib
import types
import typing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from loadmon.domain import athlete_name_problem
from loadmon.errors import ConfigError
from loadmon.load_channels import ACWR_KIND_NAMES, CHANNEL_NAMES, CHANNEL_SPECS, one_of
from loadmon.rule_thresholds import RuleThresholds
from loadmon.sports import RUNNING_SPORTS

APP_NAME = "loadmon"
#: The shortest outbox lease: a claimed batch (10 rows) must not lapse while its sends (SMTP timeout 15 s) are under way.
MIN_DELIVERY_LEASE_S = 60.0


def _f(default: Any, doc: str, **kw: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=partial(type(default), default), metadata={"doc": doc, **kw})
    return field(default=default, metadata={"doc": doc, **kw})


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    url: str = _f("", "SQLAlchemy URL; empty = SQLite file in the user data dir. e.g. postgresql+psycopg://user@host/db")
    echo: bool = _f(False, "Log every SQL statement (debugging only)")
    busy_timeout_s: float = _f(30.0, "How long a writer waits for another process's write (SQLite lock, PostgreSQL lock_timeout) before it fails")


@dataclass(frozen=True, kw_only=True)
class AthleteConfig:
    default_name: str = _f("me", "Name of the athlete created automatically on first use")
    timezone: str = _f("UTC", "Time zone of the default athlete when first created (IANA name)")


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    running_sports: list[str] = _f(
        sorted(RUNNING_SPORTS),
        f"Sports whose distance and descent count in the {' / '.join(c.name for c in CHANNEL_SPECS if c.running_only)} channels",
    )
    pmc_convention: str = _f("exp", "Fitness/fatigue decay: exp (exp(-1/N), true N-day time constant) or ewma (2/(N+1))")
    ctl_days: int = _f(42, "Fitness (CTL) time constant in days")
    atl_days: int = _f(7, "Fatigue (ATL) time constant in days")


@dataclass(frozen=True, kw_only=True)
class FitConfig:
    watch_dirs: list[str] = _f([], "Folders the daemon watches for new .fit / .gpx / .tcx files (each also .gz) and .zip archives")
    hysteresis_m: float = _f(1.0, "Altitude change (m) that counts as climbing/descending after 9-sample smoothing, when computed from records (docs/fit.md)")
    max_file_mb: int = _f(100, "Largest size (MB) a FIT file or archive member may expand to; bigger ones are refused (docs/fit.md)")
    max_archive_total_mb: int = _f(4096, "Largest size (MB) the FIT files of one zip archive may expand to together")
    max_archive_depth: int = _f(3, "Deepest nesting of zips inside zips that is expanded (deeper ones are reported)")
    workers: int = _f(0, "Processes that decode files in a large import, while one stores them in order (0 = the number of CPUs; 1 = no pool, one file after another; docs/fit.md)")


@dataclass(frozen=True, kw_only=True)
class StravaConfig:
    client_id: str = _f("", "Strava API application client id, as a number or a string (or env LOADMON_STRAVA__CLIENT_ID)", int_as_text=True)
    client_secret: str = _f("", "Strava API application client secret (or env LOADMON_STRAVA__CLIENT_SECRET)", secret=True)
    api_url: str = _f("https://www.strava.com", "Strava base URL (OAuth and API): the new one after the 1 June 2027 API move (docs/strava.md), or a compatible server for tests", url=True)
    redirect_port: int = _f(8721, "Port of the local OAuth callback on 127.0.0.1 for `loadmon strava connect`")
    read_limit_15min: int = _f(100, "Read requests allowed per 15-minute window (Strava default 100)")
    read_limit_daily: int = _f(1000, "Read requests allowed per UTC day (Strava default 1000)")
    budget_margin: int = _f(2, "Requests kept in reserve in every window")
    reconcile_days: int = _f(30, "`loadmon sync` re-reads this many days to catch edits and deletions")
    overlap_hours: int = _f(6, "Incremental sync re-reads this many hours before the newest known start")
    request_deadline_s: float = _f(60.0, "Deadline in seconds for one whole Strava request (connect, headers, body), beyond the per-read timeout: a server trickling its answer is cut off and the request retried")
    stream_sports: list[str] = _f(
        ["running", "trail_running", "virtual_running", "walking", "hiking"],
        "Sports whose altitude stream is fetched to compute descent (Strava has no elevation loss)",
    )
    webhook_verify_token: str = _f("", "Webhooks: the verify token Strava echoes when it validates the callback (`loadmon strava webhook subscribe`); empty: webhooks off (or env LOADMON_STRAVA__WEBHOOK_VERIFY_TOKEN)", secret=True)
    poll_minutes_with_webhook: int = _f(360, "Webhooks: while a push subscription is active, each athlete is polled (incremental sync) at most this often; the nightly reconciliation stays")

    defer_streams: bool = _f(True, "Backfill: list first; streams at once only for the last 42 days and point-to-point runs, the older runs' descents (the summary gain, 'estimated') are filled later from spare budget")

@dataclass(frozen=True, kw_only=True)
class IntervalsConfig:
    athlete_id: str = _f("", "intervals.icu athlete id (the i123456 of your profile URL); empty: the connector is off (or env LOADMON_INTERVALS__ATHLETE_ID)")
    api_key: str = _f("", "intervals.icu API key (Settings -> Developer Settings; or env LOADMON_INTERVALS__API_KEY)", secret=True)
    api_url: str = _f("https://intervals.icu", "intervals.icu base URL (or a compatible server for tests)", url=True)
    min_interval_s: float = _f(0.5, "Rate courtesy: at least this many seconds between two requests to intervals.icu")
    first_sync_days: int = _f(3650, "The first `loadmon intervals sync` (without --since) reads this many days back")


@dataclass(frozen=True, kw_only=True)
class EmailConfig:
    enabled: bool = _f(False, "Send alerts by email")
    smtp_host: str = _f("127.0.0.1", "SMTP server host")
    smtp_port: int = _f(25, "SMTP server port (587 starttls, 465 ssl)")
    security: str = _f("none", "none | starttls | ssl")
    username: str = _f("", "SMTP user (optional, with password)")
    password: str = _f("", "SMTP password (or env LOADMON_ALERTS__EMAIL__PASSWORD)", secret=True)
    from_addr: str = _f("loadmon@localhost", "Sender address", toml_name="from")
    to: list[str] = _f([], "Recipients")
    timeout_s: float = _f(15.0, "SMTP deadline in seconds for the whole conversation up to the end of the message data (each read included)")
    data_timeout_s: float = _f(300.0, "SMTP: seconds to wait for the server's reply after the message data (RFC 5321 allows 10 min); timeout_s + this must be shorter than alerts.delivery_lease_s")


def _section_of(source: type, name: str, doc: str) -> type:
    """A config section with the fields of the frozen dataclass ``source``: same names, types,
    defaults and ``doc`` comments, without ``source``'s validation (the service builds ``source``
    from the section and reports a bad value by its key)."""
    hints = typing.get_type_hints(source)
    specs = [(f.name, hints[f.name], field(default=f.default, metadata=f.metadata)) for f in dataclasses.fields(source)]
    return dataclasses.make_dataclass(name, specs, frozen=True, kw_only=True, namespace={"__module__": __name__, "__doc__": doc})


if typing.TYPE_CHECKING:
    RulesConfig = RuleThresholds
else:
    #: ``[alerts.rules]``: one key per field of :class:`loadmon.rule_thresholds.RuleThresholds` (its defaults and docs).
    RulesConfig = _section_of(RuleThresholds, "RulesConfig", "The alert rules' thresholds (``[alerts.rules]``).")


@dataclass(frozen=True, kw_only=True)
class AlertsConfig:
    notify_window_hours: float = _f(48.0, "Alerts about activities older than this are recorded but not sent (backfills)")
    push_urls: list[str] = _f([], "Apprise URLs for push, e.g. ntfy://host/topic, json://host/path, tgram://...")
    maildir: str = _f("", "Also write each alert e-mail into this local Maildir folder (new/<key>.eml), e.g. for a machine without SMTP; empty: off")
    max_attempts: int = _f(16, "Delivery attempts per alert and channel before it is marked failed (1 min doubling to 1 h: failed ~10 h after the first try)")
    retry_base_s: float = _f(60.0, "First retry delay in seconds; doubles each attempt (capped at 1 h)")
    delivery_lease_s: float = _f(600.0, "A process sending an outbox row holds it this long; after a crash the row is sent again once it lapses (>= 60 s)")
    morning_checkin: str = _f("07:30", "While a symptom episode is open, ask each morning at this local time (HH:MM, 03:00-11:59; sent until 12:00) how it feels, with a link to the check-in page; \"\": off")
    morning_limits: str = _f("", "On mornings when the day's limits are tighter than usual (in a comeback, after a run spike), send them at this local time (HH:MM, 03:00-11:59; sent until 12:00); \"\": off")
    email: EmailConfig = field(default_factory=EmailConfig, metadata={"doc": "Email channel"})
    rules: RulesConfig = field(default_factory=RulesConfig, metadata={"doc": "Rule thresholds"})


@dataclass(frozen=True, kw_only=True)
class DaemonConfig:
    sync_interval_minutes: int = _f(15, "Strava incremental sync interval per connected athlete")
    sync_jitter_s: int = _f(60, "Random jitter added to the sync schedule")
    watch_interval_s: int = _f(30, "How often watched folders are scanned for new FIT files")
    deliver_interval_s: int = _f(60, "How often the outbox is flushed")
    reconcile_hour_utc: int = _f(3, "Hour (UTC) of the nightly Strava reconciliation")
    misfire_grace_s: int = _f(3600, "A job late by up to this many seconds still runs once (coalesced)")
    stale_after_minutes: int = _f(60, "`daemon status` reports stale when a job is this late")
    lock_check_s: int = _f(30, "How often the daemon checks it still holds its single-instance lock (seconds)")


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    broker_url: str = _f("redis://127.0.0.1:6379/0", "Celery broker for `loadmon worker` / `loadmon scheduler` (redis://[:PASSWORD@]HOST:PORT/DB; or env LOADMON_WORKER__BROKER_URL)", url=True)
    queue: str = _f("loadmon", "Queue name the scheduler enqueues to and the workers consume")
    key_prefix: str = _f("", "Prefix of every Redis key the workers use (several loadmon installations on one Redis)")
    concurrency: int = _f(2, "Tasks one `loadmon worker` runs at the same time (processes or threads)")
    pool: str = _f("prefork", "Worker pool: prefork (processes) | threads | solo")
    visibility_timeout_s: int = _f(3600, "A task taken by a worker that died is given to another worker after this many seconds (longer than the longest task)")
    restore_interval_s: int = _f(10, "How often a worker looks for tasks of dead workers whose visibility timeout has passed")
    lock_retry_s: int = _f(30, "A task for an athlete another worker is busy with is retried after this many seconds")


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    enabled: bool = _f(False, "`loadmon daemon` also serves the web app on host:port (one process runs everything)")
    host: str = _f("127.0.0.1", "Address `loadmon web` listens on (keep 127.0.0.1 behind a reverse proxy)")
    port: int = _f(8080, "Port `loadmon web` listens on")
    public_url: str = _f("", "The address users open (e.g. https://loadmon.example.org); https makes the session cookie Secure", url=True)
    session_days: int = _f(30, "A login lasts this many days")
    trusted_proxies: list[str] = _f([], "Reverse proxies (IP addresses) whose X-Forwarded-For / X-Forwarded-Proto are believed")
    max_upload_mb: int = _f(512, "Largest upload (MB, all files of one request together) the Upload page accepts; more is refused with 413")
    auth_header: str = _f("", "Reverse-proxy login: a request from a trusted_proxies address with this header (e.g. X-Remote-User) is logged in as the user it names; empty: off")


@dataclass(frozen=True, kw_only=True)
class LoggingConfig:
    level: str = _f("info", "debug | info | warning | error")
    json: bool = _f(False, "JSON log lines (the daemon defaults to JSON)")


@dataclass(frozen=True, kw_only=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig, metadata={"doc": "Storage"})
    athlete: AthleteConfig = field(default_factory=AthleteConfig, metadata={"doc": "Default athlete"})
    engine: EngineConfig = field(default_factory=EngineConfig, metadata={"doc": "Load engine"})
    fit: FitConfig = field(default_factory=FitConfig, metadata={"doc": "FIT import"})
    strava: StravaConfig = field(default_factory=StravaConfig, metadata={"doc": "Strava connector"})
    intervals: IntervalsConfig = field(default_factory=IntervalsConfig, metadata={"doc": "intervals.icu connector (optional): loadmon intervals sync"})
    alerts: AlertsConfig = field(default_factory=AlertsConfig, metadata={"doc": "Alerts"})
    daemon: DaemonConfig = field(default_factory=DaemonConfig, metadata={"doc": "Background daemon"})
    worker: WorkerConfig = field(default_factory=WorkerConfig, metadata={"doc": "Distributed workers (Celery on Redis): loadmon worker / loadmon scheduler"})
    logging: LoggingConfig = field(default_factory=LoggingConfig, metadata={"doc": "Logging"})
    web: WebConfig = field(default_factory=WebConfig, metadata={"doc": "Web app: loadmon web (docs/web.md)"})
    source: str | None = field(default=None, compare=False, metadata={"internal": True})
    #: Problems worth a warning that do not stop loadmon (a world-readable file holding secrets).
    warnings: tuple[str, ...] = field(default=(), compare=False, metadata={"internal": True})

    @property
    def data_dir(self) -> Path:
        return Path(os.environ.get("LOADMON_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.data_dir / 'loadmon.sqlite'}"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def _toml_name(f: dataclasses.Field) -> str:
    return f.metadata.get("toml_name", f.name)


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


#: Key names whose values are never echoed in an error (besides fields marked ``secret=True``).
SECRET_KEY_PARTS = ("password", "secret", "token", "api_key", "url")


def is_secret_key(f: dataclasses.Field) -> bool:
    """A secret, or a URL (which may carry a password or an apprise token): never echoed."""
    return bool(f.metadata.get("secret") or f.metadata.get("url")) or any(p in f.name for p in SECRET_KEY_PARTS)


_TOML_KINDS = {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string", "list": "a list",
               "dict": "a table", "datetime": "a date-time", "date": "a date", "time": "a time"}


def _shown(value: Any, secret: bool) -> str:
    """The offending value for an error message: its type only for a secret key."""
    if secret:
        return f"{_TOML_KINDS.get(type(value).__name__, 'a value')} (value not shown: secret key)"
    return repr(value)


def _coerce(value: Any, tp: Any, key: str, secret: bool = False) -> Any:
    """Check ``value`` against the annotated type; raise ConfigError naming ``key`` (a secret's value is not shown)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], key, secret)
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            got = _shown(value, secret) if secret else f"{type(value).__name__} {value!r}"
            raise ConfigError(f"config key {key}: expected a list of {_type_name(inner)}, got {got}", key=key)
        return [_coerce(v, inner, f"{key}[{i}]", secret) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key}: expected true or false, got {_shown(value, secret)}", key=key)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key}: expected an integer, got {_shown(value, secret)}", key=key)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key}: expected a number, got {_shown(value, secret)}", key=key)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key {key}: expected a string, got {_shown(value, secret)}", key=key)
        return value
    raise ConfigError(f"config key {key}: unsupported type {tp}", key=key)


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {_toml_name(f): f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{prefix}{unknown[0]}"
        allowed = ", ".join(sorted(fields))
        raise ConfigError(f"unknown config key {key} (allowed in [{prefix.rstrip('.') or 'top level'}]: {allowed})", key=key)
    kwargs: dict[str, Any] = {}
    for tname, f in fields.items():
        if tname not in data:
            continue
        tp = hints[f.name]
        key = f"{prefix}{tname}"
        if _is_section(tp):
            if not isinstance(data[tname], dict):
                raise ConfigError(f"config key {key}: expected a [{key}] table", key=key)
            kwargs[f.name] = _build(tp, data[tname], f"{key}.")
        elif f.metadata.get("int_as_text"):
            kwargs[f.name] = _int_as_text(data[tname], key)
        else:
            kwargs[f.name] = _coerce(data[tname], tp, key, is_secret_key(f))
    return cls(**kwargs)


def _int_as_text(value: Any, key: str) -> str:
    """A key that is a number to its user (``client_id = 12345``) but kept as text: a whole number
    >= 0 or a string; a float or a boolean is refused, naming ``key``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str):
        return value
    raise ConfigError(f"config key {key}: expected a whole number (e.g. 12345) or a string, got {value!r}", key=key)


def _env_value(raw: str, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is list:
        raw = raw.strip()
        if raw.startswith("["):
            return json.loads(raw)
        return [p.strip() for p in raw.split(",") if p.strip()]
    if tp is bool:
        low = raw.strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        return raw
    if tp is int:
        try:
            return int(raw)
        except ValueError:
            return raw
    if tp is float:
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def _apply_env(data: dict[str, Any], env: typing.Mapping[str, str]) -> None:
    if env.get("LOADMON_DATABASE_URL"):
        data.setdefault("database", {})["url"] = env["LOADMON_DATABASE_URL"]
    for name, raw in env.items():
        if not name.startswith("LOADMON_") or "__" not in name:
            continue
        path = [p.lower() for p in name[len("LOADMON_"):].split("__")]
        cls: Any = Config
        target = data
        for i, part in enumerate(path):
            hints = typing.get_type_hints(cls)
            fields = {_toml_name(f): f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
            key = ".".join(path[: i + 1])
            if part not in fields:
                raise ConfigError(f"environment variable {name}: unknown config key {key}", key=key)
            tp = hints[fields[part].name]
            if _is_section(tp):
                if i == len(path) - 1:
                    raise ConfigError(f"environment variable {name}: {key} is a section, not a key", key=key)
                target = target.setdefault(part, {})
                cls = tp
            else:
                if i != len(path) - 1:
                    raise ConfigError(f"environment variable {name}: {key} is not a section", key=key)
                try:
                    target[part] = _env_value(raw, tp)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"environment variable {name}: not a JSON list ({exc.msg})", key=key) from None


def _secrets_in(cls: type, data: dict[str, Any], prefix: str = "") -> list[str]:
    """The keys of ``data`` (one config file) that hold a secret: a secret key with a value, or a
    URL with a user or password in it (``postgresql://u:pw@host``, ``redis://:pw@host``, apprise)."""
    hints = typing.get_type_hints(cls)
    fields = {_toml_name(f): f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    found: list[str] = []
    for name, value in data.items():
        f = fields.get(name)
        if f is None or not value:
            continue
        key = f"{prefix}{name}"
        if _is_section(hints[f.name]):
            if isinstance(value, dict):
                found += _secrets_in(hints[f.name], value, f"{key}.")
        elif f.metadata.get("url") or "url" in f.name:
            urls = value if isinstance(value, list) else [value]
            # a database URL holds a secret only with a password; an apprise push URL carries its token
            if any(isinstance(u, str) and ("push" in f.name or _has_password(u)) for u in urls):
                found.append(key)
        elif is_secret_key(f):
            found.append(key)
    return found


def _has_password(url: str) -> bool:
    try:
        return urlsplit(url).password is not None
    except ValueError:  # a malformed URL: say nothing here, validation names it
        return False


def _exposure_warning(file: Path, data: dict[str, Any]) -> str | None:
    """A warning when ``file`` holds secrets and every user of the machine may read it."""
    secrets = _secrets_in(Config, data)
    try:
        readable_by_all = bool(file.stat().st_mode & stat.S_IROTH)
    except OSError:
        return None
    if not (secrets and readable_by_all):
        return None
    return (f"config file {file} holds secrets ({', '.join(secrets)}) and every user of this machine can read it: "
            f"run `chmod 600 {file}` (or move the secrets to LOADMON_... environment variables)")


def morning_checkin_problem(text: str) -> str | None:
    """What is wrong with an ``[alerts] morning_checkin`` value (None: fine): HH:MM from 03:00 to 11:59, or
    "" for off. The same range as :func:`alerts.checkin.parse_checkin_time` (the day's readings start at
    03:00; no check-in is sent from 12:00)."""
    text = text.strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
        return f'expected a local time HH:MM (e.g. "07:30") or "" for off, got {text!r}'
    if not 3 <= int(parts[0]) < 12:
        return f"must be a morning time from 03:00 to 11:59 (no morning message is sent from 12:00), got {text!r}"
    return None


def _validate(cfg: Config) -> None:
    problem = athlete_name_problem(cfg.athlete.default_name)
    if problem:
        raise ConfigError(f"config key athlete.default_name: {problem}", key="athlete.default_name")
    url = cfg.database.url
    if url:
        scheme = urlsplit(url).scheme
        if not scheme or not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ConfigError(
                f"config key database.url: unsupported database URL scheme {scheme or '(none)'!r}; use sqlite:///PATH or postgresql+psycopg://...",
                key="database.url",
            )
    if not cfg.database.busy_timeout_s > 0:
        raise ConfigError(f"config key database.busy_timeout_s: must be more than 0, got {cfg.database.busy_timeout_s:g}",
                          key="database.busy_timeout_s")
    api = urlsplit(cfg.strava.api_url)
    if api.scheme not in {"http", "https"} or not api.netloc:
        raise ConfigError(f"config key strava.api_url: not an http(s) URL: {cfg.strava.api_url!r}", key="strava.api_url")
    if cfg.engine.pmc_convention not in {"exp", "ewma"}:
        raise ConfigError(f"config key engine.pmc_convention: must be exp or ewma, got {cfg.engine.pmc_convention!r}", key="engine.pmc_convention")
    for name, allowed in (("acwr_kind", ACWR_KIND_NAMES), ("acwr_channel", CHANNEL_NAMES)):
        value = getattr(cfg.alerts.rules, name)
        if value not in allowed:
            raise ConfigError(f"config key alerts.rules.{name}: must be {one_of(allowed)}, got {value!r}", key=f"alerts.rules.{name}")
    if cfg.alerts.email.security not in {"none", "starttls", "ssl"}:
        raise ConfigError(f"config key alerts.email.security: must be none, starttls or ssl, got {cfg.alerts.email.security!r}", key="alerts.email.security")
    if not 1 <= cfg.alerts.email.smtp_port <= 65535:
        raise ConfigError(f"config key alerts.email.smtp_port: must be 1-65535, got {cfg.alerts.email.smtp_port}", key="alerts.email.smtp_port")
    for key in ("morning_checkin", "morning_limits"):
        problem = morning_checkin_problem(getattr(cfg.alerts, key))
        if problem:
            raise ConfigError(f"config key alerts.{key}: {problem}", key=f"alerts.{key}")
    if cfg.logging.level not in {"debug", "info", "warning", "error"}:
        raise ConfigError(f"config key logging.level: must be debug, info, warning or error, got {cfg.logging.level!r}", key="logging.level")
    try:
        ZoneInfo(cfg.athlete.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"config key athlete.timezone: unknown time zone {cfg.athlete.timezone!r}", key="athlete.timezone") from None
    if cfg.worker.pool not in {"prefork", "threads", "solo"}:
        raise ConfigError(f"config key worker.pool: must be prefork, threads or solo, got {cfg.worker.pool!r}", key="worker.pool")
    if urlsplit(cfg.worker.broker_url).scheme not in {"redis", "rediss", "redis+socket"}:
        raise ConfigError(f"config key worker.broker_url: expected a redis:// URL, got scheme {urlsplit(cfg.worker.broker_url).scheme or '(none)'!r}",
                          key="worker.broker_url")
    for key, value in (("worker.concurrency", cfg.worker.concurrency), ("worker.visibility_timeout_s", cfg.worker.visibility_timeout_s),
                       ("worker.restore_interval_s", cfg.worker.restore_interval_s), ("worker.lock_retry_s", cfg.worker.lock_retry_s)):
        if value < 1:
            raise ConfigError(f"config key {key}: must be at least 1, got {value}", key=key)
    if not cfg.worker.queue.strip():
        raise ConfigError("config key worker.queue: must not be empty", key="worker.queue")
    for key, value in (("daemon.sync_interval_minutes", cfg.daemon.sync_interval_minutes), ("alerts.max_attempts", cfg.alerts.max_attempts),
                       ("strava.read_limit_15min", cfg.strava.read_limit_15min), ("strava.read_limit_daily", cfg.strava.read_limit_daily),
                       ("strava.poll_minutes_with_webhook", cfg.strava.poll_minutes_with_webhook)):
        if value < 1:
            raise ConfigError(f"config key {key}: must be at least 1, got {value}", key=key)
    if cfg.web.max_upload_mb < 1:
        raise ConfigError(f"config key web.max_upload_mb: must be at least 1, got {cfg.web.max_upload_mb}",
                          key="web.max_upload_mb")
    for key in ("max_file_mb", "max_archive_total_mb", "max_archive_depth"):
        if getattr(cfg.fit, key) < 1:
            raise ConfigError(f"config key fit.{key}: must be at least 1, got {getattr(cfg.fit, key)}", key=f"fit.{key}")
    if cfg.fit.workers < 0:
        raise ConfigError(f"config key fit.workers: must be 0 (the number of CPUs) or more, got {cfg.fit.workers}", key="fit.workers")
    if not cfg.alerts.delivery_lease_s >= MIN_DELIVERY_LEASE_S:
        raise ConfigError(f"config key alerts.delivery_lease_s: must be at least {MIN_DELIVERY_LEASE_S:g} s (longer than "
                          f"one SMTP send), got {cfg.alerts.delivery_lease_s:g}", key="alerts.delivery_lease_s")
    if not 0 < cfg.strava.request_deadline_s <= 3600:
        raise ConfigError(f"config key strava.request_deadline_s: must be more than 0 and at most 3600 s, got "
                          f"{cfg.strava.request_deadline_s:g}", key="strava.request_deadline_s")
    email = cfg.alerts.email
    if email.enabled and not email.timeout_s + email.data_timeout_s < cfg.alerts.delivery_lease_s:
        raise ConfigError(f"config key alerts.email.data_timeout_s: one send may take timeout_s + data_timeout_s = "
                          f"{email.timeout_s + email.data_timeout_s:g} s, which must be shorter than "
                          f"alerts.delivery_lease_s ({cfg.alerts.delivery_lease_s:g} s) or a second sender could send "
                          "the same alert", key="alerts.email.data_timeout_s")


def load_config(path: str | os.PathLike[str] | None = None, *, env: typing.Mapping[str, str] | None = None) -> Config:
    """Load, merge and validate the configuration. Raises ConfigError naming the key."""
    env = os.environ if env is None else env
    explicit = path if path is not None else env.get("LOADMON_CONFIG") or None
    file = Path(explicit) if explicit else default_config_path()
    data: dict[str, Any] = {}
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file}: invalid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"config file {file}: cannot read: {exc.strerror}") from None
    elif explicit:
        raise ConfigError(f"config file {file} does not exist")
    warning = _exposure_warning(file, data) if data else None
    _apply_env(data, env)
    cfg = _build(Config, data, "")
    cfg = dataclasses.replace(cfg, source=str(file) if file.is_file() else None, warnings=(warning,) if warning else ())
    _validate(cfg)
    return cfg


def iter_keys(cls: type = Config, prefix: str = "") -> typing.Iterator[tuple[str, Any, str, dict]]:
    """Yield (dotted key, default, comment, metadata) for every leaf key of the schema."""
    hints = typing.get_type_hints(cls)
    inst = cls()
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        tp = hints[f.name]
        key = f"{prefix}{_toml_name(f)}"
        if _is_section(tp):
            yield from iter_keys(tp, f"{key}.")
        else:
            yield key, getattr(inst, f.name), f.metadata.get("doc", ""), dict(f.metadata)
