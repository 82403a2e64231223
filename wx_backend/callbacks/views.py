"""How a delivery is shown to the merchant (console and CLI): no body beyond what the merchant sent us."""
from __future__ import annotations

from .models import CallbackDelivery

STATE_NAMES = {"pending": "等待重试", "delivered": "已送达", "failed": "失败"}


def delivery_view(d: CallbackDelivery) -> dict:
    return {"id": d.id, "event_id": d.event_id, "biz_token": d.biz_token, "rule_id": d.rule_id,
            "event": d.event, "state": d.state, "attempts": d.attempts, "last_status": d.last_status,
            "latency_ms": d.latency_ms, "last_error": d.last_error, "url": d.url,
            "created_at": d.created_at.isoformat(), "next_at": d.next_at.isoformat() if d.state == "pending" else None,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}
