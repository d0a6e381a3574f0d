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
