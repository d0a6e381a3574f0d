"""local days from the activity itself: an activity with a known local offset counts on its own local day

Data only: before, every activity's local_date came from the athlete's time zone; now it comes from the
activity's own local start time when the source gave it (utc_offset_s: Strava start_date_local / utc_offset,
FIT local_timestamp), as loadmon.domain.activity_local_date computes it. Existing rows with an offset are
recomputed; the others keep the athlete's zone. Downgrade leaves the dates (they stay valid days).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 12:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, start_time, utc_offset_s, local_date FROM activities WHERE utc_offset_s IS NOT NULL")).all()
    for activity_id, start, offset, stored in rows:
        day = (_instant(start).astimezone(UTC) + timedelta(seconds=int(offset))).date()
        if str(stored)[:10] != day.isoformat():
            bind.execute(sa.text("UPDATE activities SET local_date = :d WHERE id = :i"), {"d": day, "i": activity_id})


def downgrade() -> None:
    pass
