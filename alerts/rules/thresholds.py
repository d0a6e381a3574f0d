"""The rule thresholds (:class:`RuleThresholds`, declared in :mod:`loadmon.rule_thresholds`) and severity ranks.

The rules never read the configuration themselves (``alerts.rules`` is pure); the service
fills :class:`RuleThresholds` from ``[alerts.rules]``, whose keys, defaults and comments the
config schema takes from the same declaration, so tests and library users can build one directly.
"""

from __future__ import annotations

from loadmon.domain import AlertSeverity
from loadmon.rule_thresholds import ACWR_CHANNELS, RuleThresholds

__all__ = ["RuleThresholds", "SEVERITY_RANK", "ACWR_CHANNELS"]

#: info < warning < danger (a rising severity breaks a cooldown).
SEVERITY_RANK: dict[AlertSeverity, int] = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.DANGER: 2}
