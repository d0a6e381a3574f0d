"""Human-readable descriptions of the running configuration (never with secrets)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from loadmon.config import Config


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def describe_config(cfg: Config) -> dict[str, str]:
    return {
        "config file": cfg.source or "(none: defaults and environment)",
        "database": mask_url(cfg.database_url),
        "data dir": str(cfg.data_dir),
        "strava api": cfg.strava.api_url,
        "strava client id": "set" if cfg.strava.client_id else "not set",
        "email": "enabled" if cfg.alerts.email.enabled else "disabled",
        "push urls": str(len(cfg.alerts.push_urls)),
    }


def check_config(cfg: Config) -> list[str]:
    """What loadmon refuses at start-up beyond the file's schema (which :func:`loadmon.config.load_config`
    checks): the alert channels (SMTP keys, apprise URLs) and the rule thresholds. Every command and
    `loadmon config check` call this, so a configuration `config check` passes starts the daemon too.

    Returns the configured channel names; raises :class:`~loadmon.errors.ConfigError` naming the key.
    """
    from loadmon.service.alerting import validate_channels

    return validate_channels(cfg)
