"""The contract every SMS gateway passes: a real provider adds a subclass providing ``gateway``
(skipping when its test account is not configured)."""
from __future__ import annotations

import pytest

from wx_backend.merchants.models import SmsOutbox
from wx_backend.merchants.sms import MAX_BODY_CHARS, MemorySmsGateway, OutboxSmsGateway, SmsError


class SmsGatewayContract:
    @pytest.fixture
    def gateway(self):
        raise NotImplementedError

    def test_sends_chinese_text_to_a_mobile_number(self, gateway):
        receipt = gateway.send("13800138000", "【人脸核身】申请已通过")
        assert receipt.message_id

    def test_receipts_are_distinct(self, gateway):
        ids = {gateway.send("13900139000", f"消息 {i}").message_id for i in range(3)}
        assert len(ids) == 3

    @pytest.mark.parametrize("phone", ["010-12345678", "12800138000", "", "+8613800138000x"])
    def test_refuses_numbers_that_cannot_receive_texts(self, gateway, phone):
        with pytest.raises(SmsError):
            gateway.send(phone, "hello")

    @pytest.mark.parametrize("body", ["", "   ", "长" * (MAX_BODY_CHARS + 1)])
    def test_refuses_empty_or_overlong_bodies(self, gateway, body):
        with pytest.raises(SmsError):
            gateway.send("13800138000", body)


class TestMemoryGateway(SmsGatewayContract):
    @pytest.fixture
    def gateway(self):
        return MemorySmsGateway()


class TestOutboxGateway(SmsGatewayContract):
    @pytest.fixture
    def gateway(self, app_ctx, clock):
        return OutboxSmsGateway(clock)

    def test_writes_the_outbox(self, gateway):
        gateway.send("13800138000", "你好")
        assert [(r.phone, r.body) for r in SmsOutbox.select()] == [("13800138000", "你好")]
