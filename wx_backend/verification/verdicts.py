"""One session capture's verdict: the pipeline's ``verify_capture`` on this process's models, against
the session's reference (the merchant's photo from DetectAuth, else the registry's ID photo for the
session's ID number and name), looked up after the liveness check. Used for live frames (flow) and
recorded videos (jobs).
"""
from __future__ import annotations

from ..errors import Rejected
from ..pipeline import intake
from ..pipeline.engine_errors import Stage, loaded
from ..pipeline.verify import Reference, Verdict, verify_capture
from ..registry import photo_verify
from ..registry.store import today
from ..services import Services
from .attempts import MAX_BEST_FRAMES
from .models import VerificationSession


def reference(svc: Services, session: VerificationSession, engine) -> Reference:
    """The session's reference: the merchant's photo when DetectAuth had one, else the registry's ID photo."""
    sealer = svc.sealer
    if session.ref_image_sealed is not None:
        return lambda: photo_verify.file_template(engine, sealer.open(session.ref_image_sealed),
                                                  svc.settings.max_image_bytes)
    return lambda: photo_verify.identity_reference(engine, svc.registry, sealer.open_text(session.id_card_sealed),
                                                   sealer.open_text(session.name_sealed), today(svc.clock))


def evaluate(svc: Services, session: VerificationSession, challenge: dict, capture: intake.Capture) -> Verdict:
    """One capture's verdict (the reference is looked up after the liveness check)."""
    try:
        engine = loaded(svc.engine, Stage.LIVENESS)
        kit = loaded(svc.liveness, Stage.LIVENESS)
        return verify_capture(engine, kit, session.liveness_mode, challenge, capture,
                              reference(svc, session, engine), best_frames=MAX_BEST_FRAMES)
    except Rejected as failed:
        return Verdict(failed.result)
