"""Composed fixtures: settings -> clock -> app -> client. Real SQLite on disk, an injected clock."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from wx_backend import create_app, db
from wx_backend.clock import FrozenClock
from wx_backend.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FACEDATA = SHARED / "facedata"


def pytest_collection_modifyitems(config, items):
    if not FACEDATA.is_dir():
        skip = pytest.mark.skip(reason=f"{FACEDATA} is absent (shared test material)")
        for item in items:
            if "shared" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        env="testing",
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        huey_sqlite_path=str(tmp_path / "huey.db"),
        huey_immediate=True,
        public_base_url="http://testserver",
    )


@pytest.fixture
def clock() -> FrozenClock:
    # A Monday morning in Beijing (01:00 UTC) so working-day arithmetic is easy to read.
    return FrozenClock(dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc))


@pytest.fixture
def overrides() -> dict:
    """Collaborators to replace in the app (fakes at process edges). Tests extend this."""
    return {}


@pytest.fixture
def app(settings, clock, overrides):
    application = create_app(settings, clock=clock, overrides=overrides)
    with application.app_context():
        db.create_tables()
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    """Run domain code that needs the database outside a request."""
    with app.app_context():
        db.database.connect(reuse_if_open=True)
        yield app
        db.database.close()
