"""The Celery application and schedule built from the configuration (no broker needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.errors import ConfigError
from tests.conftest import make_config

celery = pytest.importorskip("celery", reason="celery is not installed (pip install '.[scale]')")


def test_delivery_guarantees_are_on(tmp_path) -> None:
    from loadmon.worker import celery_settings

    cfg = make_config(tmp_path, worker={"broker_url": "redis://:pw@redis.example:6380/3", "queue": "club",
                                        "visibility_timeout_s": 1800, "key_prefix": "clubA:", "restore_interval_s": 5})
    s = celery_settings(cfg)
    assert s["task_acks_late"] is True and s["task_reject_on_worker_lost"] is True
    assert s["worker_prefetch_multiplier"] == 1
    assert s["broker_url"] == "redis://:pw@redis.example:6380/3"
    assert s["task_default_queue"] == "club"
    assert s["broker_transport_options"] == {"visibility_timeout": 1800, "unacked_restore_interval": 5,
                                             "unacked_restore_throttle": 1, "global_keyprefix": "clubA:"}
    assert s["accept_content"] == ["json"] and s["task_ignore_result"] is True


def test_the_app_registers_every_task_and_the_schedule_follows_the_daemon_settings(tmp_path) -> None:
    from loadmon.worker import beat_schedule, make_app
    from loadmon.worker.tasks import TASK_NAMES

    cfg = make_config(tmp_path, daemon={"sync_interval_minutes": 20, "deliver_interval_s": 45, "reconcile_hour_utc": 4})
    app = make_app(cfg)
    assert set(TASK_NAMES) <= set(app.tasks)
    sched = beat_schedule(cfg)
    assert sched["strava_sync"]["schedule"] == timedelta(minutes=20)
    assert sched["deliver"]["schedule"] == timedelta(seconds=45)
    assert sched["reconcile"]["schedule"].hour == {4}
    assert "import_watched" not in sched  # no watched folders configured
    (tmp_path / "w").mkdir()
    watched = make_config(tmp_path / "w", fit={"watch_dirs": [str(tmp_path)]}, daemon={"watch_interval_s": 7})
    assert beat_schedule(watched)["import_watched"]["schedule"] == timedelta(seconds=7)


@pytest.mark.parametrize(("worker", "key"), [
    ({"pool": "gevent"}, "worker.pool"),
    ({"broker_url": "amqp://guest@localhost//"}, "worker.broker_url"),
    ({"concurrency": 0}, "worker.concurrency"),
    ({"visibility_timeout_s": 0}, "worker.visibility_timeout_s"),
    ({"queue": " "}, "worker.queue"),
])
def test_bad_worker_settings_name_the_key(tmp_path, worker, key) -> None:
    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, worker=worker)
    assert err.value.key == key and key in str(err.value)


def test_compose_scale_profile_runs_redis_a_scheduler_and_several_workers() -> None:
    import re

    from tests.conftest import REPO_ROOT

    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((REPO_ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    s = doc["services"]
    for name in ("redis", "migrate", "scheduler", "worker"):
        assert s[name]["profiles"] == ["scale"], name  # the plain `docker compose up` still runs the daemon only
    assert s["redis"]["image"].startswith("redis:") and "ping" in s["redis"]["healthcheck"]["test"]
    assert s["migrate"]["command"] == ["db", "upgrade"]
    assert s["scheduler"]["command"] == ["scheduler"] and s["worker"]["command"] == ["worker"]
    assert s["worker"]["deploy"]["replicas"] >= 2
    for name in ("scheduler", "worker"):
        deps = s[name]["depends_on"]
        assert deps["redis"]["condition"] == "service_healthy" and deps["postgres"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        env = s[name]["environment"]
        assert env["LOADMON_WORKER__BROKER_URL"] == "redis://redis:6379/0"
        assert env["LOADMON_DATABASE_URL"] == s["loadmon"]["environment"]["LOADMON_DATABASE_URL"]
    assert int(re.match(r"(\d+)s", s["worker"]["stop_grace_period"]).group(1)) >= 30
    assert "redisdata" in doc["volumes"]
    containerfile = (REPO_ROOT / "deploy" / "Containerfile").read_text(encoding="utf-8")
    assert "celery[redis]" in containerfile  # the image can run `loadmon worker`
