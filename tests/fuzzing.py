"""Property-based fuzzing of every parser (issue 14), with Hypothesis: shared settings and checks.

Each fuzz test feeds generated input to one parser through the real application and asserts that the
answer is a documented code (never an HTTP 500, never the catch-all InternalError), that nothing changed
(no row written, no quota spent) unless the input was valid, and that nothing was charged unless the
answer is a billable verdict.

Example counts are per parser (``EXAMPLES``), chosen so that the whole fuzz suite stays around a minute
in CI; examples are derandomized there (the same inputs every run: CI never fails on luck). For a deeper
search run ``WXF_FUZZ=deep .venv/bin/python -m pytest -m fuzz`` (ten times the examples, new ones each run).
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DEEP = os.environ.get("WXF_FUZZ") == "deep"

# parser -> examples per test in CI
EXAMPLES = {
    "cloud_api_json": 60,          # per action (7 actions) plus raw bodies
    "cloud_api_raw_body": 150,
    "callback_xml": 250,
    "oauth_start": 150,
    "oauth_callback": 150,
    "session_json": 100,
    "wav": 200,
    "video_container": 80,
    "frames_multipart": 60,
}


def fuzz_settings(parser: str):
    """Hypothesis settings for one parser's tests."""
    n = EXAMPLES[parser] * (10 if DEEP else 1)
    return settings(max_examples=n, deadline=None, database=None, derandomize=not DEEP,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


# -- generic hostile values ---------------------------------------------------------------------
hostile_text = st.one_of(
    st.text(max_size=64),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", " ", "\x00", "\u202e", "null", "NaN", "-1", "0", "9" * 400, "<xml/>", "%00",
                     "../../etc/passwd", "'; DROP TABLE merchant; --", "\ud800", "\udfff", "０１２３", "A" * 5000]),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                         st.floats(allow_nan=True, allow_infinity=True), hostile_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                  st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=4)),
                           max_leaves=8)


def table_counts(database, skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Row count of every table, and the quota left in every pack: the state a refusal must not touch."""
    from wx_backend.db import all_models
    from wx_backend.merchants.models import ResourcePack

    counts = {m._meta.table_name: m.select().count() for m in all_models() if m._meta.table_name not in skip}
    counts["pack_remaining"] = sum(p.remaining for p in ResourcePack.select(ResourcePack.remaining))
    return counts
