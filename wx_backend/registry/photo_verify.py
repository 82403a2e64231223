"""Photo verification: is the person in this photo the holder of this ID number?

    ID format -> registry lookup -> name match -> photo intake -> quality -> compare -> PhotoVerdict

Also the pieces the liveness actions reuse: ``identity_reference`` (the registry's template for an ID
number and name), ``photo_template`` (an uploaded photo's template, quality-checked) and ``compare``.

"Not the same person", "name does not match", "no face" are verdicts (a PhotoVerdict), not exceptions.
faceengine's exceptions ("could not evaluate") are translated into result codes here, at this one
boundary; the Cloud API handlers never see them.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from faceengine.embed import FaceTemplate
from faceengine.errors import EngineUnavailable, FaceEngineError, MediaError
from faceengine.intake import IntakeLimits, decode_base64_image, decode_image

from ..result_codes import SUCCESS, ResultCode, lookup
from .idcard import InvalidIdNumber, InvalidName, normalise_name, validate_id_number, validate_name
from .store import AuthorityRegistry, NoSuchIdentity, RegistryError

log = logging.getLogger(__name__)

# faceengine intake reasons -> result codes (everything else undecodable is ImageDecodeFailed).
_MEDIA_CODES = {
    "ImageSizeTooLarge": "FailedOperation.ImageSizeTooLarge",
    "ImageDecompressionBomb": "FailedOperation.ImageSizeTooLarge",
}


@dataclass(frozen=True)
class PhotoVerdict:
    result: ResultCode
    sim: float = 0.0         # [0, 100]; 0 when no comparison was made

    @property
    def description(self) -> str:
        return self.result.message


class Rejected(Exception):
    """Internal short-circuit of the pipeline: the verdict is ``result`` (not an error of ours)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.result = lookup(code)


def engine_failure(exc: Exception) -> ResultCode:
    """The result code of an engine exception (the boundary's one mapping)."""
    if isinstance(exc, MediaError):
        return lookup(_MEDIA_CODES.get(exc.code, "FailedOperation.ImageDecodeFailed"))
    if isinstance(exc, EngineUnavailable):
        log.error("face engine unavailable: %s", exc)
    else:
        log.error("face engine could not evaluate: %s", type(exc).__name__)
    return lookup("FailedOperation.CompareSystemError")


def check_identity(id_number: object, name: object, today: dt.date) -> tuple[str, str]:
    if not isinstance(id_number, str):
        raise Rejected("FailedOperation.IdFormatError")
    try:
        validate_id_number(id_number, today)
    except InvalidIdNumber:
        raise Rejected("FailedOperation.IdFormatError") from None
    if not isinstance(name, str):
        raise Rejected("FailedOperation.NameFormatError")
    try:
        name = validate_name(name)
    except InvalidName:
        raise Rejected("FailedOperation.NameFormatError") from None
    return id_number, name


def _registered(registry: AuthorityRegistry, id_number: str, name: str):
    try:
        record = registry.lookup(id_number)
    except NoSuchIdentity:
        raise Rejected("FailedOperation.IdNoExistSystem") from None
    except RegistryError as exc:
        log.error("authority registry failed: %s", exc)
        raise Rejected("FailedOperation.UnKnown") from None
    if normalise_name(record.name) != normalise_name(name):
        raise Rejected("FailedOperation.IdNameMisMatch")
    return record


def verify_id_name(registry: AuthorityRegistry, id_number: object, name: object, today: dt.date) -> ResultCode:
    """IdCardVerification: the ID number exists and carries this name."""
    try:
        _registered(registry, *check_identity(id_number, name, today))
    except Rejected as verdict:
        return verdict.result
    return SUCCESS


def identity_reference(engine, registry: AuthorityRegistry, id_number: object, name: object,
                       today: dt.date) -> FaceTemplate:
    """The ID photo's template for an ID number and name; raises Rejected with the verdict otherwise."""
    record = _registered(registry, *check_identity(id_number, name, today))
    if not record.has_photo:
        raise Rejected("FailedOperation.IdPhotoNoExist")
    try:
        template = FaceTemplate.from_bytes(record.template)
        if template.model != engine.model_id:
            # Enrolled with another embedder: comparing across models would be meaningless.
            log.error("registry template from %s, engine uses %s", template.model, engine.model_id)
            raise Rejected("FailedOperation.IdPhotoPoorQuality")
    except FaceEngineError as exc:
        raise Rejected(engine_failure(exc).tencent) from None
    return template


def _analysed(engine, image_rgb) -> FaceTemplate:
    try:
        analysis = engine.analyse(image_rgb)
    except FaceEngineError as exc:
        raise Rejected(engine_failure(exc).tencent) from None
    if not analysis.quality.ok:
        raise Rejected("FailedOperation." + analysis.quality.codes[0])
    if analysis.template is None:
        raise Rejected("FailedOperation.LifePhotoDetectNoFaces")
    return analysis.template


def photo_template(engine, image_base64: object, max_bytes: int) -> FaceTemplate:
    """Template of the face in an uploaded base64 photo (JPEG/PNG/WebP), after the quality checks."""
    if not isinstance(image_base64, str) or not image_base64:
        raise Rejected("FailedOperation.ImageDecodeFailed")
    try:
        image = decode_base64_image(image_base64, IntakeLimits(max_bytes=max_bytes))
    except FaceEngineError as exc:
        raise Rejected(engine_failure(exc).tencent) from None
    return _analysed(engine, image)


def file_template(engine, data: bytes, max_bytes: int) -> FaceTemplate:
    """Template of a reference photo file (registry enrolment)."""
    try:
        image = decode_image(data, IntakeLimits(max_bytes=max_bytes))
    except FaceEngineError as exc:
        raise Rejected(engine_failure(exc).tencent) from None
    return _analysed(engine, image)


def compare(engine, probe: FaceTemplate, reference: FaceTemplate) -> PhotoVerdict:
    try:
        sim = float(engine.compare(probe, reference))
    except FaceEngineError as exc:
        return PhotoVerdict(engine_failure(exc))
    sim = round(min(100.0, max(0.0, sim)), 2)
    if sim >= engine.match_threshold:
        return PhotoVerdict(SUCCESS, sim)
    return PhotoVerdict(lookup("FailedOperation.CompareLowSimilarity"), sim)


def verify_photo(engine, registry: AuthorityRegistry, id_number: object, name: object, image_base64: object,
                 today: dt.date, max_bytes: int) -> PhotoVerdict:
    """ImageRecognitionV2: the photo's face against the ID photo registered for ``id_number``/``name``."""
    try:
        reference = identity_reference(engine, registry, id_number, name, today)
        probe = photo_template(engine, image_base64, max_bytes)
    except Rejected as verdict:
        return PhotoVerdict(verdict.result)
    return compare(engine, probe, reference)


def verify_against_photo(engine, probe: FaceTemplate, image_base64: object, max_bytes: int) -> PhotoVerdict:
    """LivenessCompare: a face template (from a liveness capture) against an uploaded photo."""
    try:
        reference = photo_template(engine, image_base64, max_bytes)
    except Rejected as verdict:
        return PhotoVerdict(verdict.result)
    return compare(engine, probe, reference)
