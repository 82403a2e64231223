"""The data layer runs the same on SQLite (default) and PostgreSQL (scale-out)."""
from __future__ import annotations

import datetime as dt

import pytest

from wx_backend import create_app, db


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_app(request, settings, clock, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'backend.db'}"
    application = create_app(settings.replace(database_url=url), clock=clock)
    with application.app_context():
        db.create_tables()
        db.database.connect(reuse_if_open=True)
        yield application
        db.database.close()


def test_tables_create_and_conditional_update_is_atomic(backend_app):
    from wx_backend.merchants.models import Merchant, ResourcePack
    now = dt.datetime(2026, 11, 30, 1, 0)
    m = Merchant.create(name="测试银行", uscc="91350100M000100Y43", industry_key="finance.bank",
                        phone="13800000000", submitted_at=now, review_deadline=now.date())
    pack = ResourcePack.create(merchant=m, product="photo_verification", total=1, remaining=1,
                               created_at=now)
    take = (ResourcePack.update(remaining=ResourcePack.remaining - 1)
            .where((ResourcePack.id == pack.id) & (ResourcePack.remaining > 0)))
    with db.database.atomic():
        assert take.execute() == 1
    with db.database.atomic():
        assert take.execute() == 0   # the pack is empty: a second decrement changes nothing
    assert ResourcePack.get_by_id(pack.id).remaining == 0
    assert db.ping() == "ok"


def test_a_database_from_the_previous_version_gets_the_new_columns(backend_app):
    """`make run` keeps var/ between versions: init-db adds the columns newer code reads."""
    from wx_backend.verification.models import VerificationSession

    db.database.execute_sql('ALTER TABLE verification_session DROP COLUMN challenges_issued')
    assert "challenges_issued" not in {c.name for c in db.database.get_columns("verification_session")}
    assert db.create_tables() == ["verification_session.challenges_issued"]
    assert "challenges_issued" in {c.name for c in db.database.get_columns("verification_session")}
    assert db.create_tables() == []          # idempotent
    assert VerificationSession.select().count() == 0


def test_init_db_reports_the_columns_it_added(settings, clock, tmp_path):
    application = create_app(settings.replace(database_url=f"sqlite:///{tmp_path / 'cli.db'}"), clock=clock)
    runner = application.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and '"columns_added": []' in first.output
    with application.app_context(), db.database.connection_context():
        db.database.execute_sql('ALTER TABLE verification_session DROP COLUMN challenges_issued')
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "verification_session.challenges_issued" in again.output
