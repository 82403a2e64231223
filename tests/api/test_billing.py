"""Billing: pack order, postpaid, arrears, idempotency under retries and concurrency, usage summary and CLI."""
from __future__ import annotations

import datetime as dt
import json
import threading

import peewee
import pytest

from wx_backend import create_app, db
from wx_backend.billing.models import Charge, Reservation, UsageRecord
from wx_backend.billing.usage import usage_summary
from wx_backend.clock import utc_naive
from wx_backend.errors import Refused
from wx_backend.merchants.models import ResourcePack
from wx_backend.pipeline import charge
from wx_backend.result_codes import lookup

from .conftest import make_merchant

PRODUCT = "photo_verification"


@pytest.fixture(params=["sqlite", "postgresql"])
def shop(request, svc, settings, clock):
    """A merchant in the application database: SQLite, and PostgreSQL when reachable."""
    if request.param == "sqlite":
        request.getfixturevalue("app_ctx")
    else:
        application = create_app(settings.replace(database_url=request.getfixturevalue("pg_url")), clock=clock)
        ctx = application.app_context()
        ctx.push()
        db.create_tables()
        db.database.connect(reuse_if_open=True)
        request.addfinalizer(lambda: (db.database.close(), ctx.pop()))
    expected = {"sqlite": peewee.SqliteDatabase, "postgresql": peewee.PostgresqlDatabase}[request.param]
    assert isinstance(db.database.obj, expected)       # the variant really runs on that database (pooled)
    return make_merchant(svc, secret_id="AKIDbillingtest00001", secret_key="k")


def _pack(merchant, calls, *, days_old=1, expires_in_days=None, product=PRODUCT, now):
    now = utc_naive(now)
    return ResourcePack.create(merchant=merchant, product=product, total=calls, remaining=calls,
                               created_at=now - dt.timedelta(days=days_old),
                               expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None)


def _charge(merchant, raw: str, code: str, masked: str = "", *, now, action: str = "") -> bool:
    """What a session does with a verdict: charge once per key, then record the call."""
    charged = charge.charge(charge.charge_key(merchant.id, PRODUCT, raw), lookup(code), now)
    charge.record_usage(merchant.id, action or PRODUCT, PRODUCT, lookup(code).tencent, charged, masked, "", now)
    return charged


def _key(merchant, raw: str) -> charge.ChargeKey:
    return charge.charge_key(merchant.id, PRODUCT, raw)


def _remaining(pack) -> int:
    return ResourcePack.get_by_id(pack.id).remaining


def test_oldest_pack_first_then_the_next(shop, clock):
    now = clock.now()
    newer = _pack(shop, 5, days_old=1, now=now)
    older = _pack(shop, 1, days_old=10, now=now)
    for i in range(3):
        assert _charge(shop, f"biz:{i}", "Success", "", now=now)
    assert (_remaining(older), _remaining(newer)) == (0, 3)


def test_expired_and_other_product_packs_are_not_used(shop, clock):
    now = clock.now()
    expired = _pack(shop, 5, days_old=40, expires_in_days=-1, now=now)
    other = _pack(shop, 5, product="liveness", now=now)
    assert not charge.has_quota(shop.id, PRODUCT, now)
    with pytest.raises(Refused) as info:
        charge.reserve(_key(shop, "k1"), now)
    assert info.value.result.tencent == "UnauthorizedOperation.Arrears"
    assert (_remaining(expired), _remaining(other)) == (5, 5)


def test_only_billable_verdicts_are_charged(shop, clock):
    now = clock.now()
    pack = _pack(shop, 10, now=now)
    codes = ["Success", "FailedOperation.IdNameMisMatch", "FailedOperation.CompareLowSimilarity",
             "FailedOperation.LifePhotoDetectNoFaces", "FailedOperation.ImageBlur", "RequestLimitExceeded",
             "FailedOperation.LivessDetectFake", "InternalError"]
    charged = [_charge(shop, f"k{i}", code, "1101**********1234", now=now)
               for i, code in enumerate(codes)]
    assert charged == [True, True, True, False, False, False, False, False]
    assert _remaining(pack) == 7
    assert UsageRecord.select().where(UsageRecord.merchant == shop.id).count() == len(codes)


def test_charge_is_idempotent_on_its_key(shop, clock):
    now = clock.now()
    pack = _pack(shop, 10, now=now)
    assert _charge(shop, "BizToken-abc:1", "Success", "", now=now)
    assert not _charge(shop, "BizToken-abc:1", "Success", "", now=now)
    assert _charge(shop, "BizToken-abc:2", "Success", "", now=now)
    assert _remaining(pack) == 8


def test_reservation_is_given_back_when_not_billable(shop, clock):
    now = clock.now()
    pack = _pack(shop, 1, now=now)
    hold = charge.reserve(_key(shop, "r1"), now)
    assert _remaining(pack) == 0            # held while the work runs
    assert not charge.charge(_key(shop, "r1"), lookup("FailedOperation.ImageBlur"), now, hold=hold)
    assert _remaining(pack) == 1
    assert not charge.charge(_key(shop, "r1"), lookup("Success"), now, hold=hold)   # settled already
    assert _remaining(pack) == 1


def test_stale_reservations_are_released(shop, clock):
    now = clock.now()
    pack = _pack(shop, 2, now=now)
    charge.reserve(_key(shop, "crashed"), now)
    assert charge.release_stale(utc_naive(now) + dt.timedelta(minutes=10)) == 1
    assert _remaining(pack) == 2


def test_concurrent_calls_never_overspend_a_pack(shop, clock):
    now = clock.now()
    pack = _pack(shop, 5, now=now)
    outcomes = []
    lock = threading.Lock()

    def call(i):
        with db.database.connection_context():
            try:
                hold = charge.reserve(_key(shop, f"c{i}"), now)
            except Refused:
                result = "arrears"
            else:
                result = charge.charge(_key(shop, f"c{i}"), lookup("Success"), now, hold=hold)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(True) == 5 and outcomes.count("arrears") == 7
    assert _remaining(pack) == 0
    assert Charge.select().where(Charge.merchant == shop.id).count() == 5


def test_concurrent_retries_of_one_call_pay_once(shop, clock):
    now = clock.now()
    pack = _pack(shop, 10, now=now)
    outcomes = []

    def retry():
        with db.database.connection_context():
            hold = charge.reserve(_key(shop, "same-call"), now)
            outcomes.append(charge.charge(_key(shop, "same-call"), lookup("Success"), now, hold=hold))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(True) == 1
    assert _remaining(pack) == 9
    assert Reservation.select().where(Reservation.settled == False).count() == 0  # noqa: E712


def test_usage_summary_and_cli(shop, clock, api_app):
    now = clock.now()
    _pack(shop, 3, now=now)
    _charge(shop, "a", "Success", "1101**********1234", now=now, action="ImageRecognitionV2")
    _charge(shop, "b", "FailedOperation.ImageBlur", "", now=now, action="ImageRecognitionV2")
    charge.record_usage(shop.id, "GetLiveCode", None, "Success", False, "", "rid", now)
    summary = usage_summary(shop.id)
    assert summary["actions"]["ImageRecognitionV2"] == {
        "calls": 2, "billable": 1, "charged": 1, "results": {"Success": 1, "FailedOperation.ImageBlur": 1}}
    assert summary["charged_calls"] == 1 and summary["calls"] == 3
    assert [p["remaining"] for p in summary["packs"]] == [2]
    assert usage_summary(shop.id, since=now + dt.timedelta(days=1))["calls"] == 0

    runner = api_app.test_cli_runner()
    out = runner.invoke(args=["billing", "usage", "--merchant", str(shop.id)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["charged_calls"] == 1
    tomorrow = (utc_naive(now) + dt.timedelta(days=1)).date().isoformat()
    out = runner.invoke(args=["billing", "usage", "--merchant", str(shop.id), "--since", tomorrow])
    assert json.loads(out.output)["calls"] == 0
    assert runner.invoke(args=["billing", "usage", "--merchant", "999999"]).exit_code != 0


def test_release_stale_cli(shop, clock, api_app):
    pack = _pack(shop, 2, now=clock.now())
    charge.reserve(_key(shop, "lost-worker"), clock.now())
    runner = api_app.test_cli_runner()
    assert json.loads(runner.invoke(args=["billing", "release-stale"]).output) == {"released": 0}
    clock.advance(minutes=11)
    assert json.loads(runner.invoke(args=["billing", "release-stale"]).output) == {"released": 1}
    assert _remaining(pack) == 2
