"""Photo verification: is the person in this photo the holder of this ID number?

    ID format -> registry lookup -> name match -> photo intake -> quality -> compare -> PhotoVerdict

Also the pieces the liveness actions reuse: ``identity_reference`` (the registry's template for an ID
number and name), ``photo_template`` (an uploaded photo's template, quality-checked) and ``compare``.

Reference photos (the registry's ID photo, DetectAuth's ``ImageBase64``, LivenessCompare's photo) are
judged by the engine's reference rules (small frontal portraits such as a 102x126 ID-chip photo are
fine); probes (ImageRecognitionV2's photo, a capture's best frame) by the selfie rules.

A registry template made by another embedder than the engine's (the operator changed FACE_EMBEDDER)
is made again from the kept ID photo and stored; a record enrolled before photos were kept has only
its template, so the probe is embedded with that template's embedder (``Probe``) and compared through
that embedder's own calibration. Templates of two embedders are never compared with each other.

"Not the same person", "name does not match", "no face" are verdicts (a PhotoVerdict), not exceptions.
faceengine's exceptions ("could not evaluate") become result codes through the pipeline's one map
(``wx_backend.pipeline.engine_errors``); the Cloud API handlers never see them.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np

from faceengine import FaceAnalysis, FaceTemplate, IntakeLimits, decode_base64_image, decode_image

from ..errors import Rejected
from ..pipeline.engine_errors import ENGINE_ERRORS, Stage, rejected
from ..result_codes import SUCCESS, ResultCode, lookup
from .idcard import InvalidIdNumber, InvalidName, normalise_name, validate_id_number, validate_name
from .store import AuthorityRegistry, NoSuchIdentity, RegistryError

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class PhotoVerdict:
    result: ResultCode
    sim: float = 0.0         # [0, 100]; 0 when no comparison was made

    @property
    def description(self) -> str:
        return self.result.message


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
    """The ID photo's template for an ID number and name; raises Rejected with the verdict otherwise.

    The template may be of another embedder than the engine's only when the record kept no photo
    to make it again from (compare a ``Probe`` with it)."""
    id_number, name = check_identity(id_number, name, today)
    record = _registered(registry, id_number, name)
    if not record.has_photo:
        raise Rejected("FailedOperation.IdPhotoNoExist")
    try:
        template = FaceTemplate.from_bytes(record.template)
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.COMPARE) from None
    if template.model == engine.model_id:
        return template
    if record.kept_photo is not None:
        # The operator changed the embedder since this photo was enrolled: embed it again, once.
        try:
            photo = record.kept_photo.open()
        except RegistryError as exc:
            log.error("authority registry failed: %s", exc)
            raise Rejected("FailedOperation.UnKnown") from None
        template = file_template(engine, photo, len(photo))
        try:
            registry.update_template(id_number, template.to_bytes(), template.model)
        except (RegistryError, NoSuchIdentity) as exc:
            log.error("could not store the new registry template: %s", type(exc).__name__)
        return template
    if not engine.supports(template.model):
        log.error("registry template from %s, which this engine cannot run (it uses %s)",
                  template.model, engine.model_id)
        raise Rejected("FailedOperation.IdPhotoPoorQuality")
    log.warning("registry record enrolled under %s without a kept photo: compared with that embedder; "
                "enrol the photo again to move it to %s", template.model, engine.model_id)
    return template


@dataclass(frozen=True)
class Probe:
    """A probe image and the engine's analysis of it, so that it can also be embedded with the
    embedder of a reference enrolled under another one (RGB uint8 image)."""

    image_rgb: np.ndarray
    analysis: FaceAnalysis

    def template_for(self, engine, model: str) -> FaceTemplate:
        own = self.analysis.template
        if own is not None and own.model == model:
            return own
        return engine.template(self.image_rgb, self.analysis.face, self.analysis.landmarks, model=model)


def _analysed(engine, image_rgb, reference: bool) -> Probe:
    try:
        analysis = engine.analyse(image_rgb, reference=reference)
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.PHOTO) from None
    if not analysis.quality.ok:
        raise Rejected("FailedOperation." + analysis.quality.codes[0])
    if analysis.template is None:
        raise Rejected("FailedOperation.LifePhotoDetectNoFaces")
    return Probe(image_rgb, analysis)


def _decoded_base64(image_base64: object, max_bytes: int):
    if not isinstance(image_base64, str) or not image_base64:
        raise Rejected("FailedOperation.ImageDecodeFailed")
    try:
        return decode_base64_image(image_base64, IntakeLimits(max_bytes=max_bytes))
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.PHOTO) from None


def photo_template(engine, image_base64: object, max_bytes: int, reference: bool = False) -> FaceTemplate:
    """Template of the face in an uploaded base64 photo (JPEG/PNG/WebP), after the quality checks:
    the reference rules when ``reference`` (a merchant's photo to compare a capture with), else the
    selfie rules."""
    return _analysed(engine, _decoded_base64(image_base64, max_bytes), reference).analysis.template


def file_template(engine, data: bytes, max_bytes: int) -> FaceTemplate:
    """Template of a reference photo file (registry enrolment, DetectAuth's ImageBase64), by the
    reference rules."""
    try:
        image = decode_image(data, IntakeLimits(max_bytes=max_bytes))
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.PHOTO) from None
    return _analysed(engine, image, reference=True).analysis.template


def compare(engine, probe: FaceTemplate | Probe, reference: FaceTemplate) -> PhotoVerdict:
    """``probe`` as a Probe can be embedded again for a reference of another (built-in) embedder."""
    try:
        if isinstance(probe, Probe):
            probe = probe.template_for(engine, reference.model)
        sim = float(engine.compare(probe, reference))
    except ENGINE_ERRORS as exc:
        return PhotoVerdict(rejected(exc, Stage.COMPARE).result)
    sim = round(min(100.0, max(0.0, sim)), 2)
    if sim >= engine.match_threshold:
        return PhotoVerdict(SUCCESS, sim)
    return PhotoVerdict(lookup("FailedOperation.CompareLowSimilarity"), sim)


def verify_photo(engine, registry: AuthorityRegistry, id_number: object, name: object, image_base64: object,
                 today: dt.date, max_bytes: int) -> PhotoVerdict:
    """ImageRecognitionV2: the photo's face against the ID photo registered for ``id_number``/``name``."""
    try:
        reference = identity_reference(engine, registry, id_number, name, today)
        probe = _analysed(engine, _decoded_base64(image_base64, max_bytes), reference=False)
    except Rejected as verdict:
        return PhotoVerdict(verdict.result)
    return compare(engine, probe, reference)
