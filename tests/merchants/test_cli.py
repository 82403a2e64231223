"""The operator CLI through Flask's CliRunner: JSON on stdout, exit 1 with a message on bad input."""
from __future__ import annotations

import json

import pytest

from wx_backend.merchants.models import Merchant


@pytest.fixture
def run(app, app_ctx):
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=list(args), input=input)
    return invoke


@pytest.fixture
def licence_file(tmp_path, licence):
    path = tmp_path / "licence.png"
    path.write_bytes(licence)
    return str(path)


def test_apply_review_wechat_and_qps(run, licence_file, sms):
    res = run("merchant", "apply", "--name", "示例保险", "--uscc", "9144030071526726XG",
              "--industry", "other", "--channels", "native_h5,api", "--licence", licence_file,
              "--phone", "13800138000", "--user", "insure", "--password-stdin",
              input="password-123\n")
    assert res.exit_code == 0, res.output
    app_ = json.loads(res.stdout)
    assert app_["status"] == "pending" and app_["review_deadline"] == "2026-12-03"
    assert app_["refused_channels"][0]["channel"] == "native_h5"
    assert app_["channels_granted"] == ["h5", "api"]

    res = run("merchant", "review", str(app_["id"]), "--approve")
    out = json.loads(res.stdout)
    assert res.exit_code == 0 and out["secret_id"].startswith("AKID") and len(out["secret_key"]) == 32
    assert out["rule_id"] and out["wechat_review"] == "none"

    res = run("merchant", "wechat-review", str(app_["id"]), "--approve")
    assert res.exit_code == 1 and "微信侧审核" in res.stderr

    assert json.loads(run("merchant", "set-qps", str(app_["id"]), "35").stdout)["qps_limit"] == 35
    shown = json.loads(run("merchant", "show", str(app_["id"])).stdout)
    assert shown["qps_limit"] == 35 and shown["secret_ids"] == [out["secret_id"]]
    listed = json.loads(run("merchant", "list").stdout)
    assert [m["id"] for m in listed] == [app_["id"]]


@pytest.mark.parametrize("args,words", [
    (("--uscc", "9144030071526726XH"), "第18位"),
    (("--industry", "finance.casino"), "industry"),
    (("--channels", "fax"), "channels"),
    (("--phone", "12"), "phone"),
])
def test_apply_bad_input_exits_1_and_creates_nothing(run, licence_file, args, words):
    base = {"--name": "某公司", "--uscc": "9144030071526726XG", "--industry": "finance.bank",
            "--channels": "h5", "--licence": licence_file, "--phone": "13800138000"}
    base.update(dict(zip(args[::2], args[1::2])))
    res = run("merchant", "apply", *[x for kv in base.items() for x in kv])
    assert res.exit_code == 1 and words in res.stderr and res.stdout == ""
    assert Merchant.select().count() == 0


def test_apply_with_a_text_file_as_licence_is_refused(run, tmp_path):
    path = tmp_path / "licence.png"
    path.write_text("hello")
    res = run("merchant", "apply", "--name", "某公司", "--uscc", "9144030071526726XG", "--industry",
              "other", "--channels", "h5", "--licence", str(path), "--phone", "13800138000")
    assert res.exit_code == 1 and "LicenceImageInvalid" in res.stderr
    assert Merchant.select().count() == 0


def test_unknown_merchant_and_missing_decision(run):
    assert run("merchant", "show", "99").exit_code == 1
    assert run("merchant", "review", "99", "--reject", "--reason", "x").exit_code == 1
    res = run("merchant", "review", "99")
    assert res.exit_code == 1 and "--approve" in res.stderr


def test_reviewer_create_and_demo_seed_is_idempotent(run):
    res = run("reviewer", "create", "--user", "rev1", "--password-stdin", input="reviewer-pass\n")
    assert res.exit_code == 0 and json.loads(res.stdout)["username"] == "rev1"
    assert run("reviewer", "create", "--user", "rev1", "--password-stdin",
               input="reviewer-pass\n").exit_code == 1
    assert run("reviewer", "create", "--user", "rev2", "--password-stdin", input="short\n").exit_code == 1
    first = json.loads(run("demo", "seed").stdout)
    second = json.loads(run("demo", "seed").stdout)
    assert first["created"] and not second["created"]
    assert first["secret_key"] == second["secret_key"] and first["rule_id"] == second["rule_id"]
    assert {r["liveness_mode"] for r in first["rules"]} == {"light", "lip", "action", "silent"}
    # `make demo MODE=lip` finds one mini-program digit rule, however often the demo is seeded.
    assert [(r["channel"], r["liveness_mode"]) for r in first["rules"]].count(("miniprogram", "lip")) == 1
    assert second["rules"] == first["rules"]
    assert Merchant.select().count() == 1
    from wx_backend.merchants.models import ApiCredential
    from wx_backend.services import services
    cred = ApiCredential.get(ApiCredential.secret_id == first["secret_id"])
    assert services().sealer.open_text(cred.secret_key_sealed) == first["secret_key"]


def test_key_rotation_from_the_cli(run):
    demo = json.loads(run("demo", "seed").stdout)
    mid, old = str(demo["merchant_id"]), demo["secret_id"]
    added = run("merchant", "key-add", mid)
    assert added.exit_code == 0
    new = json.loads(added.stdout)
    assert new["secret_id"] != old and len(new["secret_key"]) == 32
    assert run("merchant", "key-add", mid).exit_code == 1                      # at most two
    assert json.loads(run("merchant", "show", mid).stdout)["secret_ids"] == [old, new["secret_id"]]
    disabled = json.loads(run("merchant", "key-disable", mid, old).stdout)
    assert disabled["secret_ids"] == [new["secret_id"]]
    last = run("merchant", "key-disable", mid, new["secret_id"])
    assert last.exit_code == 1 and "最后一个" in last.stderr
