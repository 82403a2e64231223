"""A 102x126 ID-chip portrait, the photo a Chinese ID registry holds, enrols through `flask authority add`
and is the reference of a mini-program session end to end: Success for the same person,
CompareLowSimilarity for someone else (both charged, as billable verdicts are).

The chip is made here from a real photo the way an ID photo is framed (capture_synth/id_photo.py: ~1.9 face
widths wide, crown to chin, 102x126, JPEG quality 60); the capture is synthesised from Grace Hopper's
photo (capture_synth/liveness), so the chip of her photo is the same person and the astronaut's is not.
"""
from __future__ import annotations

import json
import random

import pytest

from capture_synth import liveness as synth
from capture_synth.id_photo import chip_portrait
from faceengine.intake import decode_image
from faceengine.liveness.challenge import LightChallenge
from wx_backend import db
from wx_backend.billing.models import Charge
from wx_backend.registry.idcard import check_char

from .conftest import GRACE_ID, GRACE_NAME, jpeg, make_merchant, make_rule
from .test_cloud_actions import NATIVE_KEYS, detect_auth, detect_info, sdk

OTHER_ID = "11010519700101002" + check_char("11010519700101002")
OTHER_NAME = "Eileen Collins"


@pytest.fixture(scope="module")
def chips(face_engine, grace_rgb, astronaut_rgb, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chips")
    paths = {}
    for name, rgb in (("grace", grace_rgb), ("astronaut", astronaut_rgb)):
        data = chip_portrait(rgb, face_engine.analyse(rgb, embed=False).landmarks)
        (folder / f"{name}.jpg").write_bytes(data)
        paths[name] = folder / f"{name}.jpg"
    return paths


def test_the_chip_is_an_id_chip_portrait_the_selfie_rules_would_refuse(face_engine, chips):
    chip = decode_image(chips["grace"].read_bytes())
    assert chip.shape == (126, 102, 3)
    selfie = face_engine.analyse(chip)
    assert "LifePhotoSizeError" in selfie.quality.codes          # under the selfie's 64 px
    reference = face_engine.analyse(chip, reference=True)
    assert reference.quality.ok and 40 <= reference.face.w < 64


def _enrol(vapp, id_card, name, photo) -> dict:
    out = vapp.test_cli_runner().invoke(args=["authority", "add", "--id-card", id_card, "--name", name,
                                              "--photo", str(photo)])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def _light_session(server, flow, svc, grace_portrait, id_card, name):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    rule = make_rule(svc, merchant, "miniprogram", "light")
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, rule, IdCard=id_card, Name=name).BizToken
    return _send_capture(flow, token, grace_portrait, 21), detect_info(client, token, rule).Text


def _send_capture(flow, token, portrait, seed: int) -> dict:
    """A genuine light capture of ``portrait`` through the mini-program client; the verdict."""
    f = flow(token)
    f.consent()
    ch = f.challenge()
    rng = random.Random(seed)
    frames = synth.light_capture([portrait], LightChallenge.from_json(ch["challenge"]),
                                 synth.genuine_light_params(rng), rng)
    return f.send_frames(ch["nonce"], [(fr.timestamp_ms, jpeg(fr.image_rgb, 88)) for fr in frames])


def test_chip_portrait_enrols_and_verifies_the_same_person(vapp, svc, server, flow, grace_portrait, chips):
    assert _enrol(vapp, GRACE_ID, GRACE_NAME, chips["grace"])["ok"] is True
    result, text = _light_session(server, flow, svc, grace_portrait, GRACE_ID, GRACE_NAME)
    assert result["passed"] is True and result["code"] == "Success", result
    assert text.ErrCode == 0 and 70 <= float(text.Sim) < 100
    with db.database.connection_context():
        assert Charge.select().count() == 1


def test_chip_portrait_of_someone_else_gives_low_similarity(vapp, svc, server, flow, grace_portrait, chips):
    _enrol(vapp, OTHER_ID, OTHER_NAME, chips["astronaut"])
    result, text = _light_session(server, flow, svc, grace_portrait, OTHER_ID, OTHER_NAME)
    assert result["passed"] is False and result["code"] == "FailedOperation.CompareLowSimilarity"
    assert text.LiveStatus == 0 and text.Comparestatus == 2016 and float(text.Sim) < 70
    with db.database.connection_context():
        assert Charge.select().count() == 1


def test_chip_portrait_as_the_merchants_image_base64(svc, server, flow, grace_portrait, chips):
    """DetectAuth's ImageBase64 is a reference photo too: a chip portrait is taken, and it is her."""
    import base64

    from tencentcloud.faceid.v20180301 import models as m

    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    rule = make_rule(svc, merchant, "miniprogram", "light")
    client = sdk(server, NATIVE_KEYS)
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps({"RuleId": rule, "RedirectUrl": "https://m.example.com/back",
                                     "ImageBase64": base64.b64encode(chips["grace"].read_bytes()).decode()}))
    token = client.DetectAuth(req).BizToken
    result = _send_capture(flow, token, grace_portrait, 22)
    assert result["passed"] is True and result["code"] == "Success", result
    assert 70 <= float(detect_info(client, token, rule).Text.Sim) < 100
