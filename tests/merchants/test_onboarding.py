"""Applications, review and notifications through the services, on a real SQLite database."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from wx_backend.merchants import application, review
from wx_backend.merchants.application import ApplicationForm, ApplicationInvalid
from wx_backend.merchants.models import (PRODUCTS, ApiCredential, InSiteMessage, Merchant,
                                         MerchantUser, ResourcePack, Rule)
from wx_backend.errors import Refused



def form(licence: bytes, **kw) -> ApplicationForm:
    base = dict(name="示例银行股份有限公司", uscc="9144030071526726XG", industry_key="finance.bank",
                phone="13800138000", channels=("native_h5", "miniprogram", "api"), licence=licence,
                description="开户实名核验", username="bank1", password="secret-pass-1")
    base.update(kw)
    return ApplicationForm(**base)


def _nothing_created():
    return (Merchant.select().count(), MerchantUser.select().count(), InSiteMessage.select().count())


def test_submission_sets_deadline_channels_and_seals_the_licence(deps, licence, sms):
    m = application.submit(deps, form(licence))
    assert m.status == "pending" and m.review_deadline == dt.date(2026, 12, 3)
    assert m.channels_granted == ["native_h5", "miniprogram", "api"] and m.refused_channels == []
    assert bytes(m.licence_image) != licence and deps.sealer.open(m.licence_image) == licence
    assert len(sms.sent) == 1 and "2026-12-03" in sms.sent[0][1]


def test_outside_whitelist_native_is_refused_and_h5_given(deps, licence):
    m = application.submit(deps, form(licence, industry_key="other", channels=("miniprogram",)))
    assert m.channels_granted == ["h5"]
    assert [r["channel"] for r in m.refused_channels] == ["miniprogram"]


def _png(size):
    buf = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("data,field,code", [
    (b"%PDF-1.4 not an image", "licence", "InvalidParameterValue.LicenceImageInvalid"),
    (b"GIF89a" + b"\0" * 400, "licence", "InvalidParameterValue.LicenceImageInvalid"),
    (None, "licence", "InvalidParameterValue.LicenceImageInvalid"),        # truncated PNG
    (b"", "licence", "InvalidParameterValue.LicenceImageInvalid"),
])
def test_non_images_create_nothing(deps, licence, sms, data, field, code):
    if data is None:
        data = licence[: len(licence) // 2]
    with pytest.raises(ApplicationInvalid) as err:
        application.submit(deps, form(data))
    assert field in err.value.errors and err.value.result.tencent == code
    assert _nothing_created() == (0, 0, 0) and sms.sent == []


def test_oversized_licence_creates_nothing(deps, sms):
    big = _png((2000, 2000))
    small_limit = deps.__class__(**{**deps.__dict__,
                                    "settings": deps.settings.replace(max_licence_bytes=len(big) - 1)})
    with pytest.raises(ApplicationInvalid) as err:
        application.submit(small_limit, form(big))
    assert err.value.result.tencent == "InvalidParameterValue.LicenceImageTooLarge"
    assert _nothing_created() == (0, 0, 0) and sms.sent == []


def test_every_bad_field_is_reported_and_nothing_created(deps, licence):
    with pytest.raises(ApplicationInvalid) as err:
        application.submit(deps, form(licence, uscc="9144030071526726XH", industry_key="finance.casino",
                                      phone="12345", channels=("fax",), password="short"))
    assert set(err.value.errors) == {"uscc", "industry", "phone", "channels", "password"}
    assert _nothing_created() == (0, 0, 0)


def test_duplicate_uscc_refused(deps, licence):
    application.submit(deps, form(licence))
    with pytest.raises(ApplicationInvalid) as err:
        application.submit(deps, form(licence, username="other1"))
    assert err.value.result.tencent == "FailedOperation.MerchantExists"
    assert Merchant.select().count() == 1


def test_approval_provisions_credentials_rules_and_trial_packs(deps, licence):
    m = application.submit(deps, form(licence))
    a = review.approve(deps, m.id, reviewer="r1")
    assert a.secret_id.startswith("AKID") and len(a.secret_id) == 36 and len(a.secret_key) == 32
    cred = ApiCredential.get(ApiCredential.secret_id == a.secret_id)
    assert deps.sealer.open_text(cred.secret_key_sealed) == a.secret_key
    assert a.secret_key.encode() not in bytes(cred.secret_key_sealed)
    rules = {r.rule_id: (r.channel, r.liveness_mode, r.is_default) for r in Rule.select()}
    assert rules[a.rule_id] == ("miniprogram", "light", True)
    assert sorted(v[:2] for v in rules.values()) == [("h5", "lip"), ("miniprogram", "light"),
                                                      ("native_h5", "light")]
    packs = {p.product: (p.total, p.remaining, p.label) for p in ResourcePack.select()}
    assert packs == {p: (50, 50, "trial") for p in PRODUCTS}
    m = Merchant.get_by_id(m.id)
    assert m.status == "approved" and m.wechat_review == "pending" and m.qps_limit == 20
    assert not m.native_allowed()
    review.set_wechat_review(deps, m.id, approved=True)
    assert Merchant.get_by_id(m.id).native_allowed()


def test_h5_only_merchant_gets_an_h5_default_rule_and_no_wechat_review(deps, licence):
    m = application.submit(deps, form(licence, industry_key="other", channels=("h5",)))
    a = review.approve(deps, m.id, reviewer="r1")
    assert Rule.get(Rule.rule_id == a.rule_id).liveness_mode == "lip" and a.wechat_review == "none"
    with pytest.raises(Refused):
        review.set_wechat_review(deps, m.id, approved=True)


def test_decisions_are_final(deps, licence):
    m = application.submit(deps, form(licence))
    review.reject(deps, m.id, reviewer="r1", reason="执照模糊")
    with pytest.raises(Refused):
        review.approve(deps, m.id, reviewer="r2")
    assert ApiCredential.select().count() == 0


def test_each_state_change_sends_one_sms_and_one_message(deps, licence, sms):
    def counts():
        return len(sms.sent), InSiteMessage.select().count()

    m = application.submit(deps, form(licence))
    assert counts() == (1, 1)
    review.approve(deps, m.id, reviewer="r1")
    assert counts() == (2, 2)
    review.set_wechat_review(deps, m.id, approved=False, reason="资质不全")
    assert counts() == (3, 3)
    review.set_wechat_review(deps, m.id, approved=True)
    assert counts() == (4, 4)
    review.set_qps(deps, m.id, 50)
    assert counts() == (5, 5) and "50" in sms.sent[-1][1]
    other = application.submit(deps, form(licence, uscc="91330100799655058B", username="bank2"))
    review.reject(deps, other.id, reviewer="r1", reason="营业执照与名称不符")
    assert counts() == (7, 7) and "营业执照与名称不符" in sms.sent[-1][1]
    titles = [msg.title for msg in InSiteMessage.select().where(InSiteMessage.merchant == m)
              .order_by(InSiteMessage.id)]
    assert titles == ["申请已提交", "申请已通过", "微信侧审核未通过", "微信侧审核已通过", "QPS 上限已调整"]


def test_landline_merchants_get_the_message_without_sms(deps, licence, sms):
    application.submit(deps, form(licence, phone="010-12345678"))
    assert sms.sent == [] and InSiteMessage.select().count() == 1


def test_queue_flags_overdue(deps, licence, clock):
    m = application.submit(deps, form(licence))
    assert [i.overdue for i in review.queue(deps.now())] == [False]
    clock.advance(days=4)      # Friday 09:00 Beijing, past Thursday's deadline
    assert [(i.merchant.id, i.overdue) for i in review.queue(deps.now())] == [(m.id, True)]


def test_applying_on_2026_09_30_the_deadline_falls_after_national_day(deps, licence, clock, sms):
    """No HOLIDAYS / MAKEUP_WORKDAYS set: 国庆 (1-7 October) comes from chinesecalendar; the make-up
    working Saturday 10 October (调休) counts. Mon-Fri alone would have said Monday 5 October."""
    assert deps.settings.holidays == () and deps.settings.makeup_workdays == ()
    clock.set(dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.timezone.utc))       # Wednesday 10:00 Beijing
    m = application.submit(deps, form(licence))
    assert m.review_deadline == dt.date(2026, 10, 10)
    assert "2026-10-10" in sms.sent[0][1]
