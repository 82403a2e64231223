"""The public application form as a way to text strangers (issue 14): 13 anonymous applications used to
send 13 SMS to an attacker-chosen number, with the attacker's "company name" (a URL, "your account is
abnormal") inside each text."""
from __future__ import annotations

import io

from wx_backend.merchants import application, notices, review
from wx_backend.merchants.models import Merchant
from wx_backend.merchants.seed import create_approved_merchant

from .conftest import VALID_USCC
from .test_consoles import csrf
from .test_onboarding import form

PHONE = "13912345678"
LURE = "您的账户异常，请访问 http://evil.example/x 处理"


def _uscc(n: int) -> str:
    from wx_backend.merchants import uscc
    org8 = f"{n:08d}"
    first17 = "91110108" + org8 + uscc.org_check_character(org8)
    return first17 + uscc.check_character(first17)


def _apply(client, licence, i: int, *, phone=PHONE, address="203.0.113.7"):
    data = {"csrf_token": csrf(client, "/merchant/apply"), "name": f"{LURE}{i}", "uscc": _uscc(10_000_000 + i),
            "industry": "finance.bank", "phone": phone, "channels": ["api"], "description": "",
            "username": f"user{i}", "password": "password-123", "licence": (io.BytesIO(licence), "l.png")}
    return client.post("/merchant/apply", data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": address})


def test_thirteen_anonymous_applications_text_the_number_at_most_three_times_in_our_words(app, licence, sms):
    answers = []
    for i in range(13):
        # A fresh browser and a fresh address each time: neither the cookie nor the address is what stops it.
        answers.append(_apply(app.test_client(), licence, i, address=f"198.51.100.{i}").status_code)
    assert answers[:application.APPLY_PER_PHONE] == [302] * application.APPLY_PER_PHONE
    assert set(answers[application.APPLY_PER_PHONE:]) == {429}
    assert Merchant.select().count() == application.APPLY_PER_PHONE
    texts = [body for phone, body in sms.sent if phone == PHONE]
    assert len(texts) == application.APPLY_PER_PHONE
    for body, merchant in zip(texts, Merchant.select().order_by(Merchant.id)):
        assert "evil.example" not in body and "异常" not in body
        assert notices.application_number(merchant.id) in body
    # The applicant still sees its own company name in the console's in-site message.
    assert LURE in merchant.messages.get().body


def test_one_address_gets_ten_tries_an_hour(app, licence, sms, clock):
    c = app.test_client()
    answers = [_apply(c, licence, i, phone=f"1390000{i:04d}").status_code for i in range(12)]
    assert answers.count(302) == application.APPLY_PER_CLIENT and answers[-1] == 429
    clock.advance(application.CLIENT_WINDOW_S + 1)
    assert _apply(c, licence, 99, phone="13900009999").status_code == 302


def test_a_refused_try_reads_no_licence_and_writes_nothing(app, licence, sms):
    c = app.test_client()
    for i in range(application.APPLY_PER_PHONE):
        _apply(c, licence, i, address=f"198.51.100.{i}")
    before = (Merchant.select().count(), len(sms.sent))
    resp = _apply(c, b"not an image", 50, address="198.51.100.200")
    assert resp.status_code == 429 and "上限" in resp.get_data(as_text=True)
    assert (Merchant.select().count(), len(sms.sent)) == before


def test_a_phone_number_gets_at_most_ten_texts_a_day(deps, licence, sms, clock):
    """The cap holds for every event, also those an operator causes."""
    approval = create_approved_merchant(deps, uscc=VALID_USCC[0], phone=PHONE, username="user1",
                                        password="password-123")
    for qps in range(21, 35):
        review.set_qps(deps, approval.merchant_id, qps)
    sent = [body for phone, body in sms.sent if phone == PHONE]
    assert len(sent) == notices.SMS_PER_PHONE_PER_DAY
    assert Merchant.get_by_id(approval.merchant_id).messages.count() == 17   # in-site: every event
    clock.advance(days=1)
    review.set_qps(deps, approval.merchant_id, 40)
    assert len([1 for phone, _ in sms.sent if phone == PHONE]) == notices.SMS_PER_PHONE_PER_DAY + 1


def test_submitted_and_approved_texts_name_the_application_number_not_the_company(deps, licence, sms):
    m = application.submit(deps, form(licence, name="点击 http://evil.example 领取"))
    review.approve(deps, m.id, reviewer="r1")
    assert len(sms.sent) == 2
    for _, body in sms.sent:
        assert "evil.example" not in body and notices.application_number(m.id) in body
