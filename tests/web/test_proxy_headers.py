"""X-Forwarded-For / -Proto are believed only when TRUSTED_PROXIES says how many proxies set them."""
from __future__ import annotations

import pytest
from flask import jsonify, request

from wx_backend import create_app


def _client(settings, clock):
    app = create_app(settings, clock=clock)
    # A route that answers what the application believes about the client.
    app.add_url_rule("/_whoami", "whoami", lambda: jsonify(addr=request.remote_addr, scheme=request.scheme))
    return app.test_client()


def _ask(client, forwarded_for: str) -> dict:
    return client.get("/_whoami", headers={"X-Forwarded-For": forwarded_for,
                                                   "X-Forwarded-Proto": "https, https, https"},
                      environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_json()


def test_forwarded_headers_are_ignored_by_default(settings, clock):
    assert _ask(_client(settings, clock), "203.0.113.9") == {"addr": "10.0.0.5", "scheme": "http"}


@pytest.mark.parametrize("proxies, addr", [(1, "203.0.113.9"), (2, "198.51.100.7")])
def test_trusted_proxies_give_the_address_they_saw(settings, clock, proxies, addr):
    # Each proxy appends the address it saw to whatever came before (a client can claim anything):
    # only the last ``proxies`` hops are believed.
    client = _client(settings.replace(trusted_proxies=proxies), clock)
    assert _ask(client, "6.6.6.6, 198.51.100.7, 203.0.113.9") == {"addr": addr, "scheme": "https"}
