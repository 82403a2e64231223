"""Key rotation through the official SDK: a second key works at once, the old one stops at once after it
is disabled, the last key cannot be disabled and there are never more than two."""
from __future__ import annotations

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.faceid.v20180301 import models

from wx_backend import db
from wx_backend.clock import utc_naive
from wx_backend.merchants import provisioning

from .conftest import make_merchant, sdk_client

OLD_ID, OLD_KEY = "AKIDrotatingmerchant1", "old-secret-key-0001"


def _live_code(server, secret_id, secret_key):
    return sdk_client(server, secret_id, secret_key).GetLiveCode(models.GetLiveCodeRequest()).LiveCode


def test_rotate_a_key(server, svc):
    merchant = make_merchant(svc, secret_id=OLD_ID, secret_key=OLD_KEY)
    now = utc_naive(svc.clock.now())
    with db.database.connection_context():
        new = provisioning.add_credential(merchant, svc.sealer, now)
        with pytest.raises(provisioning.KeyRotationRefused):
            provisioning.add_credential(merchant, svc.sealer, now)          # a third: refused
    assert new.secret_id.startswith("AKID") and new.secret_id != OLD_ID
    assert _live_code(server, OLD_ID, OLD_KEY).isdigit()                  # both work during the switch
    assert _live_code(server, new.secret_id, new.secret_key).isdigit()

    with db.database.connection_context():
        provisioning.disable_credential(merchant.id, OLD_ID, now)
        with pytest.raises(provisioning.KeyRotationRefused):
            provisioning.disable_credential(merchant.id, new.secret_id, now)   # the last one: refused
        assert [c.secret_id for c in provisioning.active_credentials(merchant.id)] == [new.secret_id]
    with pytest.raises(TencentCloudSDKException) as refused:
        _live_code(server, OLD_ID, OLD_KEY)
    assert refused.value.code == "AuthFailure.SecretIdNotFound"
    assert _live_code(server, new.secret_id, new.secret_key).isdigit()


def test_a_merchant_cannot_disable_another_merchants_key(svc):
    mine = make_merchant(svc, secret_id=OLD_ID, secret_key=OLD_KEY)
    other = make_merchant(svc, name="另一商户", secret_id="AKIDothermerchant0002", secret_key="k2")
    with db.database.connection_context():
        provisioning.add_credential(mine, svc.sealer, utc_naive(svc.clock.now()))
        with pytest.raises(provisioning.KeyRotationRefused):
            provisioning.disable_credential(mine.id, "AKIDothermerchant0002", utc_naive(svc.clock.now()))
        assert len(provisioning.active_credentials(other.id)) == 1
