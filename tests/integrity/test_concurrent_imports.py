"""Several `loadmon import` processes at once on a FRESH database (SQLite and PostgreSQL), and
`loadmon daemon --once` importing the same files from its watched folder at the same time.

On first use they race on the schema creation (Alembic), on the default athlete's insert and on
the same activity's insert; on SQLite a transaction that read before it wrote could not wait for
the lock. Every run must exit 0 without a traceback and every run be stored exactly once.
The race is repeated on a new database each round, so a failure shows reliably.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.fit.factory import RunSpec, encode_activity
from loadmon.storage import Store
from tests.conftest import PG_URL, REPO_ROOT, _pg_admin_url, _to_toml
from tests.daemon.helpers import cli_env

pytestmark = pytest.mark.slow

PROCESSES = 5
ROUNDS = 3
FILES = 8
PER_PROCESS = 4  # process i imports files i..i+3 (mod FILES): every file is imported by several


def _config(path: Path, url: str, watched: Path) -> Path:
    path.write_text(_to_toml({"database": {"url": url}, "fit": {"watch_dirs": [str(watched)]}}), encoding="utf-8")
    return path


def _fit_files(folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    paths = []
    for i in range(FILES):
        spec = RunSpec(start=start + timedelta(days=3 * i, hours=i), distance_m=6000 + 500 * i, duration_s=1800,
                       serial=5000 + i, record_interval_s=10)
        path = folder / f"run{i}.fit"
        path.write_bytes(encode_activity(spec))
        old = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()  # settled: the watch job takes it at once
        os.utime(path, (old, old))
        paths.append(path)
    return paths


def _race(config: Path, files: list[Path], env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    procs = []
    for i in range(PROCESSES):
        mine = [str(files[(i + k) % len(files)]) for k in range(PER_PROCESS)]
        procs.append(subprocess.Popen([sys.executable, "-m", "loadmon", "--config", str(config), "import", "--json", *mine],
                                      env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    procs.append(subprocess.Popen([sys.executable, "-m", "loadmon", "--config", str(config), "daemon", "--once"],
                                  env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _check_round(config: Path, url: str, files: list[Path], env: dict[str, str]) -> None:
    *imports, daemon = _race(config, files, env)
    for result in [*imports, daemon]:
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 0, f"exit {result.returncode}: {result.stdout}\n{result.stderr}"
    for result in imports:
        summary = json.loads(result.stdout)
        assert (summary["imported"], summary["duplicate"], summary["failed"]) == (
            summary["new_activities"], PER_PROCESS - summary["new_activities"], 0), summary
    store = Store.open(url, migrate_schema=False)
    try:
        (athlete,) = store.list_athletes()
        acts = store.list_activities(athlete.id)
        log = store.import_log(athlete.id, limit=1000)
    finally:
        store.close()
    assert sorted(r["path"] for r in log if r["outcome"] == "imported") == sorted(map(str, files))  # once each
    assert len(acts) == FILES, [(a.id, a.start_time) for a in acts]
    assert len({a.start_time for a in acts}) == FILES
    assert all(a.duplicate_of is None for a in acts)


def test_concurrent_imports_on_a_fresh_sqlite_file(tmp_path) -> None:
    files = _fit_files(tmp_path / "fit")
    env = cli_env(tmp_path)
    for round_no in range(ROUNDS):
        config = tmp_path / f"config{round_no}.toml"
        url = f"sqlite:///{tmp_path / f'race{round_no}.sqlite'}"
        _check_round(_config(config, url, files[0].parent), url, files, env)


@pytest.mark.postgres
def test_concurrent_imports_on_a_fresh_postgresql_database(tmp_path) -> None:
    if not PG_URL:
        pytest.skip("LOADMON_TEST_DATABASE_URL not set")
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(_pg_admin_url(PG_URL))
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    files = _fit_files(tmp_path / "fit")
    env = cli_env(tmp_path)
    for round_no in range(ROUNDS):
        name = f"loadmon_race_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            config = tmp_path / f"config{round_no}.toml"
            url = base.set(database=name).render_as_string(hide_password=False)
            _check_round(_config(config, url, files[0].parent), url, files, env)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
