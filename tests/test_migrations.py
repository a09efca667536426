"""The schema comes from Alembic alone, and the models agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.databases import fresh_database
from tracker import create_app
from tracker.extensions import db


@pytest.fixture
def empty_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    with fresh_database(tmp_path) as url:
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path)
        )
        with app.app_context():
            yield app
            db.engine.dispose()


def _diff() -> list[object]:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), db.metadata)


def test_upgrade_from_empty_to_head_matches_the_models(empty_app) -> None:  # type: ignore[no-untyped-def]
    assert sa.inspect(db.engine).get_table_names() == []
    upgrade()
    tables = set(sa.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert _diff() == [], "models and migrations disagree: run flask db migrate"


def test_downgrade_to_base_and_up_again(empty_app) -> None:  # type: ignore[no-untyped-def]
    upgrade()
    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert _diff() == []


def test_the_check_notices_a_model_change(empty_app) -> None:  # type: ignore[no-untyped-def]
    """The guard above can fail: a column the migrations lack is reported."""
    upgrade()
    table = db.metadata.tables["shops"]
    extra = sa.Column("not_in_migrations", sa.Integer)
    table.append_column(extra)
    try:
        diff = _diff()
    finally:
        table._columns.remove(extra)
    assert any("not_in_migrations" in repr(item) for item in diff)


def test_the_setup_commands_upgrade_really_commits(tmp_path: Path) -> None:
    """`flask db upgrade` as dev.py runs it, in its own process: the schema must stick."""
    import os
    import subprocess
    import sys

    from alembic.script import ScriptDirectory

    from tracker import PROJECT_ROOT

    with fresh_database(tmp_path) as url:
        env = os.environ | {"DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tracker", "db", "upgrade"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            scripts = conn.scalar(sa.text("SELECT count(*) FROM scripts"))
        engine.dispose()
    head = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()
    assert version == head and scripts > 0
