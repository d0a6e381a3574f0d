"""The service layer: wires connectors, store, engine and alerts. CLI and daemon call only this."""

from loadmon.service.context import Service, utc_now

__all__ = ["Service", "utc_now"]
