"""The consoles through the Flask test client: sign-in, apply, review, approve, messages, isolation."""
from __future__ import annotations

import io
import re

import pytest
from werkzeug.security import generate_password_hash

from wx_backend.merchants.models import InSiteMessage, Merchant, Reviewer
from wx_backend.services import services


def csrf(client, url):
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def apply(client, licence, *, uscc, username, industry="finance.bank", channels=("miniprogram", "api")):
    token = csrf(client, "/merchant/apply")
    data = {"csrf_token": token, "name": f"{username} 有限公司", "uscc": uscc, "industry": industry,
            "phone": "13800138000", "channels": list(channels), "description": "实名核验",
            "username": username, "password": "password-123",
            "licence": (io.BytesIO(licence), "licence.png")}
    return client.post("/merchant/apply", data=data, content_type="multipart/form-data")


def login(client, path, username, password):
    token = csrf(client, f"{path}/login")
    return client.post(f"{path}/login", data={"csrf_token": token, "username": username,
                                             "password": password})


def signed_in_merchant(app, merchant_id: int, username: str):
    """A test client signed in to the merchant console as a new login of ``merchant_id``."""
    from wx_backend import db
    from wx_backend.merchants.models import MerchantUser

    with db.database.connection_context():
        MerchantUser.create(merchant=merchant_id, username=username,
                            password_hash=generate_password_hash("merchant-pass-1"))
    c = app.test_client()
    assert login(c, "/merchant", username, "merchant-pass-1").status_code == 302
    return c


@pytest.fixture
def reviewer_client(app, app_ctx):
    Reviewer.create(username="rev1", password_hash=generate_password_hash("reviewer-pass"))
    c = app.test_client()
    assert login(c, "/review", "rev1", "reviewer-pass").status_code == 302
    return c


def test_post_without_csrf_token_is_refused(client):
    resp = client.post("/merchant/login", data={"username": "x", "password": "y"})
    assert resp.status_code == 400


def test_full_console_flow(app, client, reviewer_client, licence, sms):
    resp = apply(client, licence, uscc="9144030071526726XG", username="alpha")
    assert resp.status_code == 302
    page = client.get("/merchant/").get_data(as_text=True)
    assert "审核中" in page and "申请已提交" in page
    mid = Merchant.get(Merchant.uscc == "9144030071526726XG").id

    queue = reviewer_client.get("/review/").get_data(as_text=True)
    assert "alpha 有限公司" in queue
    detail = reviewer_client.get(f"/review/merchants/{mid}").get_data(as_text=True)
    assert "金融许可证" in detail
    img = reviewer_client.get(f"/review/merchants/{mid}/licence")
    assert img.status_code == 200 and img.mimetype == "image/png" and img.data == licence

    token = csrf(reviewer_client, f"/review/merchants/{mid}")
    reviewer_client.post(f"/review/merchants/{mid}/decision",
                         data={"csrf_token": token, "decision": "approve", "reason": ""})
    reviewer_client.post(f"/review/merchants/{mid}/wechat",
                         data={"csrf_token": token, "decision": "approve"})
    reviewer_client.post(f"/review/merchants/{mid}/qps", data={"csrf_token": token, "qps": "40"})
    m = Merchant.get_by_id(mid)
    assert (m.status, m.wechat_review, m.qps_limit) == ("approved", "approved", 40)
    assert len(sms.sent) == 4

    page = client.get("/merchant/").get_data(as_text=True)
    assert "已通过" in page and "AKID" in page and "小程序·光线活体" in page and "50" in page
    reveal = re.search(r'action="(/merchant/credentials/\d+/reveal)"', page).group(1)
    token = csrf(client, "/merchant/")
    shown = client.post(reveal, data={"csrf_token": token}).get_data(as_text=True)
    key = re.search(r'id="secret-key">([A-Za-z0-9]{32})<', shown).group(1)
    again = client.post(reveal, data={"csrf_token": token}, follow_redirects=True)
    assert key not in again.get_data(as_text=True)

    msg = InSiteMessage.select().where(InSiteMessage.merchant == mid).first()
    client.post(f"/merchant/messages/{msg.id}/read", data={"csrf_token": token})
    assert InSiteMessage.get_by_id(msg.id).read_at is not None


def test_bad_upload_rerenders_the_form_and_creates_nothing(client):
    resp = apply(client, b"not an image at all", uscc="9144030071526726XG", username="alpha")
    assert resp.status_code == 400 and "JPEG 或 PNG" in resp.get_data(as_text=True)
    assert Merchant.select().count() == 0


def test_a_merchant_cannot_reach_another_merchants_data(app, licence, app_ctx):
    a, b = app.test_client(), app.test_client()
    apply(a, licence, uscc="9144030071526726XG", username="alpha")
    apply(b, licence, uscc="91330100799655058B", username="bravo")
    b_id = Merchant.get(Merchant.uscc == "91330100799655058B").id
    b_msg = InSiteMessage.get(InSiteMessage.merchant == b_id)

    page = a.get("/merchant/").get_data(as_text=True)
    assert "alpha" in page and "bravo" not in page
    token = csrf(a, "/merchant/")
    assert a.post(f"/merchant/messages/{b_msg.id}/read", data={"csrf_token": token}).status_code == 404
    assert InSiteMessage.get_by_id(b_msg.id).read_at is None
    for url in (f"/review/merchants/{b_id}", f"/review/merchants/{b_id}/licence", "/review/"):
        resp = a.get(url)
        assert resp.status_code == 302 and "/review/login" in resp.headers["Location"]


def test_wrong_password_does_not_sign_in(client, licence):
    apply(client, licence, uscc="9144030071526726XG", username="alpha")
    other = client.application.test_client()
    resp = login(other, "/merchant", "alpha", "wrong-password")
    assert resp.status_code == 200 and "错误" in resp.get_data(as_text=True)
    assert other.get("/merchant/").status_code == 302


def test_console_usage_is_what_the_billing_cli_prints(app, app_ctx, deps, clock):
    """The merchant sees per-action calls, charged calls and remaining packs, the figures of
    `flask --app app billing usage`."""
    import json

    from wx_backend.pipeline import charge
    from wx_backend.result_codes import lookup
    from wx_backend.merchants.seed import create_approved_merchant

    approval = create_approved_merchant(deps, uscc="91330100799655058B", username="gamma",
                                        password="password-123")
    mid = approval.merchant_id
    now = clock.now()
    for raw, code, masked in (("k1", "Success", "1101**********002X"), ("k2", "FailedOperation.ImageBlur", "")):
        charged = charge.charge(charge.charge_key(mid, "photo_verification", raw), lookup(code), now)
        assert charged == (code == "Success")
        charge.record_usage(mid, "ImageRecognitionV2", "photo_verification", code, charged, masked, "", now)
    charge.record_usage(mid, "GetLiveCode", None, "Success", False, "", "rid-1", now)

    cli = json.loads(app.test_cli_runner().invoke(args=["billing", "usage", "--merchant", str(mid)]).output)
    c = app.test_client()
    assert login(c, "/merchant", "gamma", "password-123").status_code == 302
    page = c.get("/merchant/").get_data(as_text=True)

    assert re.search(r'id="calls">(\d+)<', page).group(1) == str(cli["calls"]) == "3"
    assert re.search(r'id="charged-calls">(\d+)<', page).group(1) == str(cli["charged_calls"]) == "1"
    for action, a in cli["actions"].items():
        row = re.search(rf'id="action-{action}"><td>{action}</td><td>(\d+)</td><td>(\d+)</td>', page)
        assert row and (int(row.group(1)), int(row.group(2))) == (a["calls"], a["charged"]), action
    remaining = [int(r) for r in re.findall(r'<tr class="pack"><td>[^<]*</td><td>\d+</td><td>(\d+)</td>', page)]
    assert remaining == [p["remaining"] for p in cli["packs"]] and 49 in remaining


def test_key_rotation_in_the_console(app, app_ctx, deps):
    from wx_backend.merchants.models import ApiCredential
    from wx_backend.merchants.seed import create_approved_merchant

    create_approved_merchant(deps, uscc="9144030071526726XG", username="rota", password="password-123")
    c = app.test_client()
    assert login(c, "/merchant", "rota", "password-123").status_code == 302
    old = ApiCredential.get()
    token = csrf(c, "/merchant/")
    shown = c.post("/merchant/credentials/new", data={"csrf_token": token})
    assert shown.headers["Cache-Control"] == "no-store"
    page = shown.get_data(as_text=True)
    new = ApiCredential.select().where(ApiCredential.id != old.id).get()
    key = re.search(r'id="secret-key">([A-Za-z0-9]{32})<', page).group(1)
    assert new.secret_id in page and services().sealer.open_text(new.secret_key_sealed) == key
    assert new.revealed_at is not None                                   # shown once, here
    assert "新增密钥" not in page                                        # two is the limit
    refused = c.post("/merchant/credentials/new", data={"csrf_token": token}, follow_redirects=True)
    assert "已有 2 个有效密钥" in refused.get_data(as_text=True)

    done = c.post(f"/merchant/credentials/{old.id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "已停用" in done.get_data(as_text=True)
    old = ApiCredential.get_by_id(old.id)
    assert not old.active and old.disabled_at is not None and old.secret_id not in done.get_data(as_text=True)
    last = c.post(f"/merchant/credentials/{new.id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "不能停用最后一个" in last.get_data(as_text=True) and ApiCredential.get_by_id(new.id).active


def test_a_merchant_cannot_disable_another_merchants_key_in_the_console(app, app_ctx, deps):
    from wx_backend.merchants.models import ApiCredential
    from wx_backend.merchants.seed import create_approved_merchant

    create_approved_merchant(deps, uscc="9144030071526726XG", username="rota", password="password-123")
    create_approved_merchant(deps, uscc="91330100799655058B", username="other", password="password-123")
    c = app.test_client()
    login(c, "/merchant", "rota", "password-123")
    theirs = ApiCredential.get(ApiCredential.merchant == Merchant.get(Merchant.uscc == "91330100799655058B"))
    resp = c.post(f"/merchant/credentials/{theirs.id}/disable", data={"csrf_token": csrf(c, "/merchant/")})
    assert resp.status_code == 404 and ApiCredential.get_by_id(theirs.id).active
