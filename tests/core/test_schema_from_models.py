"""A new database is made from the models at once (``create_all``, the triggers, stamped at head)
instead of by every migration in turn; both ways must give the same schema, on both backends. And
the models match the migrations (alembic's autogenerate finds nothing to change in a database built
by the migrations)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from loadmon.storage import Store, migrate
from tests.conftest import PG_URL, _pg_admin_url


def _blank_urls(kind: str, tmp_path) -> Iterator[tuple[str, str]]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'models.sqlite'}", f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    if not PG_URL:
        pytest.skip("LOADMON_TEST_DATABASE_URL not set")
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(_pg_admin_url(PG_URL))
    names = [f"loadmon_schema_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    conninfo = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)  # type: ignore[misc]
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_urls(request, tmp_path) -> Iterator[tuple[str, str]]:
    """Two new, empty databases of one backend."""
    yield from _blank_urls(request.param, tmp_path)


def _by_migrations(url: str) -> Store:
    """A Store on a database built by every migration in turn."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        migrate.upgrade(engine, from_models=False)
    finally:
        engine.dispose()
    return Store.open(url)


def _schema(engine: Engine) -> dict:
    """Tables (columns with type, nullability and default; primary key; foreign keys; indexes;
    unique constraints), SQLite's AUTOINCREMENT tables, the triggers and the alembic revision."""
    insp = inspect(engine)
    tables = {}
    for name in sorted(insp.get_table_names()):
        tables[name] = {
            "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in insp.get_columns(name)),
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "fks": sorted(
                (
                    tuple(f["constrained_columns"]),
                    f["referred_table"],
                    tuple(f["referred_columns"]),
                    str((f.get("options") or {}).get("ondelete")),
                )
                for f in insp.get_foreign_keys(name)
            ),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(name)),
            "uniques": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(name)),
        }
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            auto = sorted(
                r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'"))
            )
            trig = sorted(" ".join(r[0].split()) for r in conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger'")))
        else:
            auto = []
            trig = sorted(r[0] for r in conn.execute(text("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")))
            trig += sorted(
                " ".join(r[0].split())
                for r in conn.execute(
                    text(
                        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                        "WHERE n.nspname = 'public'"
                    )
                )
            )
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"tables": tables, "autoincrement": auto, "triggers": trig, "revision": revision}


@pytest.mark.slow
def test_a_new_database_made_from_the_models_equals_one_made_by_the_migrations(blank_urls) -> None:
    models_url, migrations_url = blank_urls
    by_models, by_migrations = Store.open(models_url), _by_migrations(migrations_url)
    try:
        made = _schema(by_models.engine)
        assert made == _schema(by_migrations.engine)
        assert made["revision"] == migrate.head_from_files() and made["triggers"]
        assert "activity_revisions" in made["tables"] and len(made["tables"]) >= 12
        if by_models.dialect == "sqlite":
            assert made["autoincrement"] == ["symptoms"]  # a deleted symptom's id is never reused (0007)
    finally:
        by_models.close()
        by_migrations.close()


@pytest.mark.slow
def test_the_models_match_the_migrations(blank_urls) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from loadmon.storage.models import Base

    store = _by_migrations(blank_urls[1])
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        store.close()
