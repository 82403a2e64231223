"""The authority ID registry: ID number and name validation, sealed storage, the CLI, photo verification."""
from __future__ import annotations

import csv
import datetime as dt
import json

import numpy as np
import pytest
from PIL import Image

from wx_backend import db
from wx_backend.engine_holder import EngineHolder
from wx_backend.registry.idcard import (InvalidIdNumber, InvalidName, check_char, mask_id_number,
                                        validate_id_number, validate_name)
from wx_backend.registry.models import AuthorityFace, AuthorityIdentity
from wx_backend.registry.photo_verify import verify_photo
from wx_backend.registry.store import NoSuchIdentity
from wx_backend.services import EXTENSION_KEY

TODAY = dt.date(2026, 11, 30)


def _valid(first17: str) -> str:
    return first17 + check_char(first17)


@pytest.mark.parametrize("number", ["11010519491231002X", "440308199001011239", _valid("11010520261130001")])
def test_valid_id_numbers(number):
    assert validate_id_number(number, TODAY) == number


@pytest.mark.parametrize("number, why", [
    ("11010519491231002x", "lowercase x"),
    ("110105194912310021", "wrong check character"),
    ("1101051949123100", "too short"),
    ("11010519491231002X1", "too long"),
    (_valid("11010519490230001"), "30 February"),
    (_valid("11010518991231001"), "born before 1900"),
    (_valid("11010520261201001"), "born in the future"),
    ("11010519491231００2X", "full-width digits"),
    ("X10105194912310021", "X not last"),
])
def test_invalid_id_numbers(number, why):
    with pytest.raises(InvalidIdNumber):
        validate_id_number(number, TODAY)


@pytest.mark.parametrize("name", ["张三", "欧阳娜娜", "买买提·艾力", "Grace Hopper", "  李四 "])
def test_valid_names(name):
    assert validate_name(name) == name.strip()


@pytest.mark.parametrize("name", ["张", "张三1", "Grace  Hopper", "·张三", "张三·", "O'Neil", "", "张" * 33,
                                  "<script>"])
def test_invalid_names(name):
    with pytest.raises(InvalidName):
        validate_name(name)


def test_mask():
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_id_number("") == ""


@pytest.fixture
def engine(face_engine):
    return face_engine


@pytest.fixture
def overrides(overrides, engine):
    return {**overrides, "engine": EngineHolder(lambda: engine)}


@pytest.fixture
def reg_app(app):
    return app


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    import matplotlib.cbook
    import skimage.data
    folder = tmp_path_factory.mktemp("photos")
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        Image.open(fh).convert("RGB").save(folder / "grace.jpg", quality=92)
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(folder / "wall.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_cli_add_stores_sealed_records_apart(reg_app, photos):
    runner = reg_app.test_cli_runner()
    out = runner.invoke(args=["authority", "add", "--id-card", "11010519491231002X", "--name", "Grace Hopper",
                              "--photo", str(photos / "grace.jpg")])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"ok": True, "id_card": "1101**********002X", "created": True, "photo": True}
    with reg_app.app_context(), db.database.connection_context():
        [identity] = AuthorityIdentity.select()
        [face] = AuthorityFace.select()
        # Nothing in clear: not the ID number, not the name.
        assert "11010519491231002X" not in identity.id_digest
        assert b"Grace" not in bytes(identity.name_sealed)
        assert face.identity_id == identity.id and face.model
        record = reg_app.extensions[EXTENSION_KEY].registry.lookup("11010519491231002X")
        assert record.name == "Grace Hopper" and record.has_photo
        with pytest.raises(NoSuchIdentity):
            reg_app.extensions[EXTENSION_KEY].registry.lookup("440308199001011239")


@pytest.mark.parametrize("args, code", [
    (["--id-card", "110105194912310021", "--name", "Grace Hopper"], "FailedOperation.IdFormatError"),
    (["--id-card", "11010519491231002X", "--name", "G1"], "FailedOperation.NameFormatError"),
    (["--id-card", "11010519491231002X", "--name", "Grace Hopper", "--photo", "wall.jpg"],
     "FailedOperation.LifePhotoDetectNoFaces"),
    (["--id-card", "11010519491231002X", "--name", "Grace Hopper", "--photo", "notes.txt"],
     "FailedOperation.ImageDecodeFailed"),
])
def test_cli_add_refuses(reg_app, photos, args, code):
    args = [str(photos / a) if a.endswith((".jpg", ".txt")) else a for a in args]
    out = reg_app.test_cli_runner().invoke(args=["authority", "add", *args])
    assert out.exit_code == 1
    assert json.loads(out.output)["code"] == code


def test_cli_import_reports_each_row(reg_app, photos, tmp_path):
    sheet = tmp_path / "people.csv"
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id_card", "name", "photo_path"])
        w.writerow(["11010519491231002X", "Grace Hopper", str(photos / "grace.jpg")])
        w.writerow(["440308199001011239", "艾琳·柯林斯", str(photos / "astronaut.png")])
        w.writerow(["440308199001011238", "王五", ""])                       # bad check character
        w.writerow(["110105200001010016", "赵六", ""])                        # no photo: ID/name only
    out = reg_app.test_cli_runner().invoke(args=["authority", "import", str(sheet)])
    assert out.exit_code == 1
    report = json.loads(out.output)
    assert (report["imported"], report["failed"]) == (3, 1)
    assert [r["ok"] for r in report["rows"]] == [True, True, False, True]
    assert report["rows"][2]["code"] == "FailedOperation.IdFormatError"
    assert "440308199001011238" not in out.output


def test_photo_verification_pipeline(reg_app, photos, engine):
    import base64
    svc = reg_app.extensions[EXTENSION_KEY]
    runner = reg_app.test_cli_runner()
    runner.invoke(args=["authority", "add", "--id-card", "11010519491231002X", "--name", "Grace Hopper",
                        "--photo", str(photos / "grace.jpg")])
    runner.invoke(args=["authority", "add", "--id-card", "110105200001010016", "--name", "赵六"])
    grace = base64.b64encode((photos / "grace.jpg").read_bytes()).decode()
    astronaut = base64.b64encode((photos / "astronaut.png").read_bytes()).decode()
    registry = svc.registry
    with reg_app.app_context(), db.database.connection_context():
        def verdict(id_card, name, image):
            return verify_photo(engine, registry, id_card, name, image, TODAY, svc.settings.max_image_bytes)
        same = verdict("11010519491231002X", "grace hopper", grace)   # Latin names compare case-blind
        assert same.result.tencent == "Success" and same.sim >= 70
        other = verdict("11010519491231002X", "Grace Hopper", astronaut)
        assert other.result.tencent == "FailedOperation.CompareLowSimilarity" and other.sim < 70
        assert verdict("110105200001010016", "赵六", grace).result.tencent == "FailedOperation.IdPhotoNoExist"
        assert verdict("11010519491231002X", "Grace Hopper", "!!").result.tencent == \
            "FailedOperation.ImageDecodeFailed"


# -- a registry enrolled under an earlier embedder keeps working ------------------------------------
def _dlib_template(engine, path) -> bytes:
    from faceengine.embed import DLIB_MODEL_ID
    from faceengine.intake import decode_image

    rgb = decode_image(path.read_bytes())
    a = engine.analyse(rgb, embed=False, reference=True)
    return engine.template(rgb, a.face, a.landmarks, model=DLIB_MODEL_ID).to_bytes()


def test_records_enrolled_with_dlib_are_compared_with_dlib_or_embedded_again(reg_app, photos, engine):
    """Before this version the registry kept dlib templates and no photo: such a record is compared
    with dlib (its own calibration); a record whose photo was kept is embedded again with the engine's
    embedder on first use, and stored."""
    import base64

    from faceengine.embed import DLIB_MODEL_ID

    svc = reg_app.extensions[EXTENSION_KEY]
    registry = svc.registry
    grace = base64.b64encode((photos / "grace.jpg").read_bytes()).decode()
    astronaut = base64.b64encode((photos / "astronaut.png").read_bytes()).decode()
    with reg_app.app_context(), db.database.connection_context():
        registry.put("11010519491231002X", "Grace Hopper", _dlib_template(engine, photos / "grace.jpg"),
                     DLIB_MODEL_ID)                                               # as the old version wrote it
        registry.put("440308199001011239", "Eileen Collins", _dlib_template(engine, photos / "astronaut.png"),
                     DLIB_MODEL_ID, photo=(photos / "astronaut.png").read_bytes())

        def verdict(id_card, name, image):
            return verify_photo(engine, registry, id_card, name, image, TODAY, svc.settings.max_image_bytes)

        same, other = verdict("11010519491231002X", "Grace Hopper", grace), \
            verdict("11010519491231002X", "Grace Hopper", astronaut)
        assert same.result.tencent == "Success" and same.sim >= 70
        assert other.result.tencent == "FailedOperation.CompareLowSimilarity"
        assert registry.lookup("11010519491231002X").template_model == DLIB_MODEL_ID    # nothing to redo it from

        assert verdict("440308199001011239", "Eileen Collins", astronaut).result.tencent == "Success"
        assert verdict("440308199001011239", "Eileen Collins", grace).result.tencent == \
            "FailedOperation.CompareLowSimilarity"
        assert registry.lookup("440308199001011239").template_model == engine.model_id


def test_cli_reembed_moves_kept_photos_to_the_engines_embedder(reg_app, photos, engine):
    from faceengine.embed import DLIB_MODEL_ID

    registry = reg_app.extensions[EXTENSION_KEY].registry
    with reg_app.app_context(), db.database.connection_context():
        registry.put("11010519491231002X", "Grace Hopper", _dlib_template(engine, photos / "grace.jpg"),
                     DLIB_MODEL_ID)
        registry.put("440308199001011239", "Eileen Collins", _dlib_template(engine, photos / "astronaut.png"),
                     DLIB_MODEL_ID, photo=(photos / "astronaut.png").read_bytes())
    runner = reg_app.test_cli_runner()
    dry = json.loads(runner.invoke(args=["authority", "reembed", "--dry-run"]).output)
    assert (dry["reembedded"], dry["no_photo"], dry["current"]) == (1, 1, 0)
    out = runner.invoke(args=["authority", "reembed"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"model": engine.model_id, "dry_run": False, "current": 0,
                                      "reembedded": 1, "failed": 0, "no_photo": 1}
    again = json.loads(runner.invoke(args=["authority", "reembed"]).output)
    assert (again["current"], again["reembedded"], again["no_photo"]) == (1, 0, 1)


def test_enrolment_keeps_the_photo_sealed(reg_app, photos):
    out = reg_app.test_cli_runner().invoke(args=["authority", "add", "--id-card", "11010519491231002X",
                                                 "--name", "Grace Hopper", "--photo", str(photos / "grace.jpg")])
    assert out.exit_code == 0, out.output
    with reg_app.app_context(), db.database.connection_context():
        [face] = AuthorityFace.select()
        raw = (photos / "grace.jpg").read_bytes()
        assert face.photo_sealed and raw[:64] not in bytes(face.photo_sealed)
        assert reg_app.extensions[EXTENSION_KEY].registry.lookup("11010519491231002X").photo == raw
