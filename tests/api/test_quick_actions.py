"""A quick action (GetLiveCode) whose challenge store is down: the answer is InternalError, nothing of the
failed transaction stays, and the call still leaves its usage record (written after the rollback)."""
from __future__ import annotations

import pytest

from wx_backend import db
from wx_backend.billing.models import UsageRecord
from wx_backend.pipeline.challenge import ChallengeStoreUnavailable

from .conftest import make_merchant, sdk_client


class StoreDown:
    """A challenge store whose server does not answer (the Redis store raises this when Redis is gone)."""

    def issue(self, *args, **kwargs):
        raise ChallengeStoreUnavailable("ConnectionError")

    has = take = issue

    def purge(self, now):
        return 0


@pytest.fixture
def overrides(overrides):
    return {**overrides, "challenges": StoreDown()}


def test_a_failed_quick_action_is_recorded_after_its_rollback(server, svc):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.faceid.v20180301 import models

    merchant = make_merchant(svc, qps=1000)
    client = sdk_client(server, "AKIDtestmerchant0001", "test-secret-key-0001")
    with pytest.raises(TencentCloudSDKException) as failed:
        client.GetLiveCode(models.GetLiveCodeRequest())
    assert failed.value.code == "InternalError"
    with db.database.connection_context():
        [usage] = UsageRecord.select().where(UsageRecord.merchant == merchant.id)
    assert (usage.action, usage.result_code, usage.charged) == ("GetLiveCode", "InternalError", False)
