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
