"""The Store: typed reads and writes over SQLAlchemy, returning loadmon.domain records.

Every public method is one transaction. SQLAlchemy and driver errors are translated into
:class:`loadmon.errors.StorageError` (the URL's password is never part of a message).
"""

from __future__ import annotations

from loadmon.storage.activity_store import ActivityStoreMixin, ImportOutcome, UpsertResult
from loadmon.storage.alert_store import AlertStoreMixin
from loadmon.storage.athlete_store import AthleteStoreMixin
from loadmon.storage.core import CONFLICT_RETRIES, StoreCore, storage_error
from loadmon.storage.duplicates import DUPLICATE_DISTANCE_FRACTION, DUPLICATE_START_S
from loadmon.storage.job_run_store import JobRunStoreMixin
from loadmon.storage.strava_store import StravaConnection, StravaStoreMixin
from loadmon.storage.webhook_store import EventApplied, StoredSubscription, StravaEventClaim, WebhookStoreMixin

__all__ = ["CONFLICT_RETRIES", "DUPLICATE_START_S", "DUPLICATE_DISTANCE_FRACTION", "EventApplied", "ImportOutcome", "Store",
           "StoredSubscription", "StravaConnection", "StravaEventClaim", "UpsertResult", "storage_error"]


class Store(WebhookStoreMixin, AthleteStoreMixin, ActivityStoreMixin, AlertStoreMixin, StravaStoreMixin, JobRunStoreMixin, StoreCore):
    """Database access. Create with :meth:`open`; close with :meth:`close`.

    Every public method is one transaction: the lifecycle is :class:`~loadmon.storage.core.StoreCore`,
    the methods of each table group are its mixins (``athlete_store``, ``activity_store``,
    ``alert_store``, ``strava_store``, ``job_run_store``, ``webhook_store``).
    """
