"""Liveness attack evaluation in ISO/IEC 30107-3 terms, the identity check, and latency.

    .venv/bin/python bench/liveness.py [--quick] [--calibrate-lip] [--embedder NAME] [--latency-only]

APCER (per attack type) = attack presentations accepted / attack presentations.
BPCER = genuine presentations rejected / genuine presentations.
Genuine and attack cases are built from real faces: matplotlib's Grace Hopper and
scikit-image's astronaut always; with ../shared/facedata also one photo each of up to 12 more
people, the GRID talking heads (speech + digits) and LivePortrait clips. See
capture_synth/liveness.py for the physical models and docs/liveness.md for what they mean.

Every check runs with the identity check the service runs (``EngineIdentity`` on the engine's
embedder, ``--embedder``, MobileFaceNet by default); the latency prints each mode without it, with
it and the ratio. The identity check alone (appearance and jump checks off) is evaluated on genuine
captures and on splices of two people, synthetic and real (GRID, LivePortrait clips).

Thresholds are not tuned here. The lip audio-visual threshold comes from ``--calibrate-lip``,
which uses GRID split A (even-numbered clips); the bench's GRID cases use split B (odd).
Runs pinned to one core and one thread.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy/cv2 load: the latency figure is for one core

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from capture_synth.liveness import (Portrait, animated_capture, genuine_light_params,  # noqa: E402
                                  light_capture, none, photo_attack, pulse, syllables)
from faceengine import EMBEDDERS, EngineOptions, load_engine  # noqa: E402
from faceengine.detect import FaceMesher  # noqa: E402
from faceengine.liveness import (ActionChallenge, Audio, DlibIdentity, EngineIdentity, Frame,  # noqa: E402
                                 LipChallenge, new_light_challenge, new_lip_challenge, tracking_mesher,
                                 verify_action, verify_light, verify_lip, verify_silent)
from faceengine.liveness.capture import AUDIO_RATE, read_video, read_video_audio  # noqa: E402
from faceengine.liveness.lip import LipOptions, av_sync, mouth_series  # noqa: E402
from faceengine.liveness.track import identity_descriptors, track_face  # noqa: E402

FACEDATA = ROOT.parent / "shared" / "facedata"


class Tally:
    def __init__(self):
        self.genuine = [0, 0]                 # rejected, total
        self.attacks = defaultdict(lambda: [0, 0])  # accepted, total

    def add(self, kind: str, passed: bool):
        if kind == "genuine":
            self.genuine[0] += not passed
            self.genuine[1] += 1
        else:
            self.attacks[kind][0] += passed
            self.attacks[kind][1] += 1

    def report(self, mode: str):
        r, n = self.genuine
        print(f"[{mode}] BPCER {100 * r / max(n, 1):5.1f}%  ({r}/{n} genuine rejected)")
        for kind, (a, n) in self.attacks.items():
            print(f"[{mode}] APCER {kind:28s} {100 * a / max(n, 1):5.1f}%  ({a}/{n} accepted)")


def load_portraits(photo_mesher, extra: int) -> list[tuple[str, Portrait]]:
    from matplotlib import cbook
    from PIL import Image
    from skimage import data

    out = [("hopper", Portrait.from_photo(np.array(Image.open(cbook.get_sample_data("grace_hopper.jpg"))
                                                   .convert("RGB")), photo_mesher)),
           ("astronaut", Portrait.from_photo(data.astronaut(), photo_mesher))]
    if FACEDATA.is_dir() and extra:
        # Round-robin over the sources for variety; "_" folders hold group or odd photos.
        sources = [sorted(p for p in (FACEDATA / "identities" / d).iterdir()
                          if p.is_dir() and not p.name.startswith("_"))
                   for d in ("lfw_krasserm", "azure_face", "deepface")]
        people = [s[i] for i in range(max(map(len, sources))) for s in sources if i < len(s)]
        for person in people:
            if len(out) >= 2 + extra:
                break
            photo = sorted(person.glob("*.jpg"))[0]
            bgr = cv2.imread(str(photo))
            try:
                out.append((person.name, Portrait.from_photo(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), photo_mesher)))
            except IndexError:  # no face meshed in this photo or its framing
                continue
    return out


def bench_light(portraits, rng, per_person: int, identity) -> Tally:
    tally, mesher = Tally(), tracking_mesher("light")
    for i, (name, p) in enumerate(portraits):
        other = portraits[(i + 1) % len(portraits)][1]
        for _ in range(per_person):
            ch = new_light_challenge(rng)
            cases = {"genuine": (genuine_light_params(rng), ch, [p])}
            still = genuine_light_params(rng); still.mode = "none"
            cases["still photo"] = (still, ch, [p])
            cases["recording for other sequence"] = (genuine_light_params(rng), new_light_challenge(rng), [p])
            late = genuine_light_params(rng); late.lag_ms += ch.slot_ms
            early = genuine_light_params(rng); early.lag_ms -= ch.slot_ms
            cases["sequence shifted one slot"] = (late if rng.random() < 0.5 else early, ch, [p])
            tint = genuine_light_params(rng); tint.mode = rng.choice(["tint_mult", "tint_add"])
            cases["whole-frame tint (screen)"] = (tint, ch, [p])
            cases["two people spliced"] = (genuine_light_params(rng), ch, [p, other.aligned_to(p)])
            for kind, (params, shown, who) in cases.items():
                frames = light_capture(who, shown, params, rng)
                tally.add(kind, verify_light(frames, ch, mesher=mesher, identity=identity).passed)
    return tally


def voiced(onsets, duration_ms, seed):
    r = np.random.default_rng(seed)
    t = np.arange(int(AUDIO_RATE * duration_ms / 1000)) / AUDIO_RATE
    f0 = r.uniform(100, 220)
    voice = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    env = np.zeros_like(t)
    for o in onsets:
        u = (t * 1000 - o) / 220.0
        env = np.maximum(env, np.where((u >= 0) & (u <= 1), np.sin(np.pi * np.clip(u, 0, 1)), 0))
    return Audio((0.2 * env * voice + 0.003 * r.standard_normal(len(t))).astype(np.float32))


def reading_onsets(rng, n=4):
    t, out = rng.uniform(300, 700), []
    for _ in range(n):
        out.append(t)
        t += rng.uniform(300, 450)
    return out


def grid_clips():
    clips = sorted((FACEDATA / "videos" / "grid_lipnet").glob("*.mpg")) if FACEDATA.is_dir() else []
    return clips[0::2], clips[1::2]   # split A (calibration), split B (evaluation)


def calibrate_lip():
    split_a, _ = grid_clips()
    mesher, opts = tracking_mesher("lip"), LipOptions()
    data = []
    for c in split_a:
        frames = read_video(c)
        ts, op = mouth_series(track_face(frames, mesher).faces)
        data.append((ts, op, read_video_audio(c)))
    own = [av_sync(ts, op, au, opts)["av_correlation"] for ts, op, au in data]
    cross = [av_sync(a[0], a[1], b[2], opts)["av_correlation"] for a in data for b in data if a is not b]
    print("GRID split A: own-audio av_correlation", np.round(sorted(own), 3))
    print("GRID split A: other-audio av_correlation", np.round(sorted(cross), 3))
    for thr in np.arange(0.1, 0.6, 0.05):
        frr = np.mean(np.array(own) < thr)
        far = np.mean(np.array(cross) >= thr)
        print(f"  threshold {thr:.2f}: own rejected {frr:.2f}, other accepted {far:.2f}")


def paced_onsets(ch: LipChallenge, rng, latency_ms: float | None = None):
    """Voice onsets of one person reading a paced challenge: one latency for the reading (drawn
    from 400-800 ms) plus SD 80 ms per digit (PacedOptions explains the figures)."""
    lat = rng.uniform(400, 800) if latency_ms is None else latency_ms
    return [s + lat + rng.gauss(0, 80) for s in ch.show_ms], lat


def continuous_onsets(rng, duration_ms):
    """Syllables of running speech: every 250-450 ms from a random start to the end."""
    t, out = rng.uniform(100, 800), []
    while t < duration_ms - 250:
        out.append(t)
        t += rng.uniform(250, 450)
    return out


def bench_lip(portraits, rng, per_person: int, identity) -> Tally:
    """The paced digit challenge the H5 pages and the mini-program issue (audio required)."""
    tally, mesher = Tally(), tracking_mesher("lip")
    for name, p in portraits:
        for _ in range(per_person):
            ch = new_lip_challenge(rng)
            dur = ch.duration_ms
            on, lat = paced_onsets(ch, rng)
            peak = rng.uniform(0.2, 0.4)
            # The mouth opens from the voice onset (syllables() peaks 110 ms after its start).
            reading = animated_capture(p, syllables(on, peak), none, dur, rng)
            audio = voiced(on, dur, rng.getrandbits(32))
            tally.add("genuine", verify_lip(reading, ch, mesher=mesher, identity=identity, audio=audio).passed)
            still = animated_capture(p, none, none, dur, rng)
            tally.add("still photo (with speech)",
                      verify_lip(still, ch, mesher=mesher, identity=identity, audio=audio).passed)
            blinks = animated_capture(p, none, pulse(rng.uniform(300, 1200), 250), dur, rng)
            tally.add("closed-mouth clip", verify_lip(blinks, ch, mesher=mesher, identity=identity,
                                                      audio=voiced([], dur, rng.getrandbits(32))).passed)
            unrelated = voiced(continuous_onsets(rng, dur), dur, rng.getrandbits(32))
            tally.add("lips vs unrelated speech (synth)",
                      verify_lip(reading, ch, mesher=mesher, identity=identity, audio=unrelated).passed)
            replay = voiced(paced_onsets(new_lip_challenge(rng), rng, lat)[0], dur, rng.getrandbits(32))
            tally.add("lips vs reading of other code*",
                      verify_lip(reading, ch, mesher=mesher, identity=identity, audio=replay).passed)
    bench_lip_grid(tally, mesher, rng, identity)
    return tally


def bench_lip_grid(tally: Tally, mesher, rng, identity) -> None:
    """Real talking heads (GRID, ../shared/facedata) reading paced challenges (capture_synth/paced_grid.py):
    real lips, real voices; played against other real speech."""
    from capture_synth.paced_grid import GridClip, paced_reading, sentence_audio

    clips = []
    for path in sorted((FACEDATA / "videos" / "grid_lipnet").glob("*.mpg")) if FACEDATA.is_dir() else []:
        try:
            clips.append(GridClip.load(path))
        except ValueError as exc:
            print(f"  (GRID clip left out: {exc})")
    for i, clip in enumerate(clips):
        for _ in range(2):
            ch = new_lip_challenge(rng)
            lat = rng.uniform(400, 800)
            frames, audio = paced_reading(clip, ch, rng, latency_ms=lat)
            tally.add("genuine", verify_lip(frames, ch, mesher=mesher, identity=identity, audio=audio).passed)
            other = clips[(i + 1 + rng.randrange(len(clips) - 1)) % len(clips)]
            speech = sentence_audio(other, ch.duration_ms, rng.uniform(0, ch.duration_ms - 3000))
            tally.add("lips vs other GRID speech",
                      verify_lip(frames, ch, mesher=mesher, identity=identity, audio=speech).passed)
            _, own_replay = paced_reading(clip, new_lip_challenge(rng), rng, latency_ms=lat)
            tally.add("lips vs reading of other code*",
                      verify_lip(frames, ch, mesher=mesher, identity=identity, audio=own_replay).passed)


def bench_lip_unpaced(rng, identity) -> Tally:
    """The Cloud API's digit mode (GetLiveCode: the client shows the whole code at once), where
    only the audio-visual correlation stands between lips and unrelated speech."""
    tally, mesher = Tally(), tracking_mesher("lip")
    _, split_b = grid_clips()
    loaded = [(read_video(c), read_video_audio(c)) for c in split_b]
    code = LipChallenge("0000")
    for i, (frames, audio) in enumerate(loaded):
        tally.add("genuine", verify_lip(frames, code, mesher=mesher, identity=identity, audio=audio).passed)
        for j, (_, other) in enumerate(loaded):
            if j != i:
                tally.add("lips vs other GRID speech",
                          verify_lip(frames, code, mesher=mesher, identity=identity, audio=other).passed)
    return tally


def bench_action(portraits, rng, per_person: int, identity) -> Tally:
    tally, mesher = Tally(), tracking_mesher("action")
    for name, p in portraits:
        for _ in range(per_person):
            seq = rng.choice([(1, 2), (2, 1)])
            first, second = rng.uniform(300, 900), rng.uniform(1500, 2200)
            t_mouth, t_blink = (first, second) if seq == (1, 2) else (second, first)
            wide, blink_ms, mouth_ms = rng.uniform(0.4, 0.6), rng.uniform(200, 400), rng.uniform(500, 900)
            dur = 3000

            def run(mouth_at, blink_at, challenge):
                mouth = pulse(mouth_at, mouth_ms, wide) if mouth_at is not None else none
                eyes = pulse(blink_at, blink_ms) if blink_at is not None else none
                frames = animated_capture(p, mouth, eyes, dur, rng)
                return verify_action(frames, ActionChallenge(challenge), mesher=mesher,
                                     identity=identity).passed

            tally.add("genuine", run(t_mouth, t_blink, seq))
            tally.add("reverse order", run(t_mouth, t_blink, seq[::-1]))
            tally.add("missing action", run(t_mouth, None, seq) if rng.random() < 0.5 else run(None, t_blink, seq))
            tally.add("still photo", run(None, None, seq))
    return tally


def clip_window(path: Path, start_ms: float, end_ms: float):
    """Frames of a real clip between two times, re-timed to start at 0 (a capture)."""
    frames = read_video(path)
    return [Frame(f.image_rgb, f.timestamp_ms - start_ms) for f in frames if start_ms <= f.timestamp_ms < end_ms]


# Real people doing the actions (LivePortrait driving clips, see shared/facedata/MANIFEST.md):
# d18 opens the mouth wide at ~2.1 s and ~3.8 s and blinks at ~3.3 s and ~6.2 s; d3 blinks/winks
# at ~1.6 s with the mouth closed. Windows were chosen by watching the clips, not by the checks.
REAL_ACTION_CASES = (
    ("d18.mp4", 1700, 4700, (1, 2), "genuine"),
    ("d18.mp4", 2900, 5900, (2, 1), "genuine"),
    ("d18.mp4", 1700, 3750, (2, 1), "reverse order"),      # mouth then blink, asked blink first
    ("d18.mp4", 0, 3000, (1, 2), "missing action"),        # mouth only
    ("d3.mp4", 0, 3000, (1, 2), "missing action"),         # blinks only
    ("d3.mp4", 0, 3000, (2, 1), "missing action"),
)


def bench_action_real(identity) -> Tally:
    tally, mesher = Tally(), tracking_mesher("action")
    clips = FACEDATA / "videos" / "liveportrait_driving"
    if not clips.is_dir():
        return tally
    for name, start, end, seq, kind in REAL_ACTION_CASES:
        frames = clip_window(clips / name, start, end)
        tally.add(kind, verify_action(frames, ActionChallenge(seq), mesher=mesher, identity=identity).passed)
    return tally


def bench_silent(portraits, rng, identity) -> Tally:
    tally, mesher = Tally(), tracking_mesher("silent")
    for name, p in portraits:
        tally.add("hand-held print",
                  verify_silent(photo_attack(p, rng, 3000), mesher=mesher, identity=identity).passed)
        tally.add("photo on a phone screen",
                  verify_silent(photo_attack(p, rng, 3000, screen=True), mesher=mesher,
                                identity=identity).passed)
    if FACEDATA.is_dir():
        clips = sorted((FACEDATA / "videos" / "grid_lipnet").glob("*.mpg")) + \
            sorted((FACEDATA / "videos" / "liveportrait_driving").glob("*.mp4"))
        for c in clips:
            tally.add("genuine",
                      verify_silent(read_video(c, max_frames=45), mesher=mesher, identity=identity).passed)
    return tally


def identity_sims(frames, mesher, identity) -> list[float]:
    """Sim of the best frame against the first and the last face, as the identity check takes them
    (the track's own mesh aligns the descriptors); [] when the track has fewer than two faces."""
    track = track_face(frames, mesher)
    if len(track.faces) < 2:
        return []
    best, *others = identity_descriptors(track, frames, identity)
    return [identity.sim(best, d) for d in others]


def retimed(frames, start_ms: float, end_ms: float, offset_ms: float = 0.0):
    return [Frame(f.image_rgb, f.timestamp_ms - start_ms + offset_ms)
            for f in frames if start_ms <= f.timestamp_ms < end_ms]


def real_identity_cases():
    """(kind, source, frames) of real clips: 3 s windows of one person, and splices of two people's
    clips of one size (the first 1.5 s of one, 1.5-3 s of the next; GRID: same studio, framing and
    background, the hardest real splice). GRID swwp2s and pwij3p are the same man: not spliced."""
    if not FACEDATA.is_dir():
        return
    same_man = {"grid_id2_vcd_swwp2s", "grid_pwij3p"}
    groups = defaultdict(list)
    for c in sorted((FACEDATA / "videos" / "grid_lipnet").glob("*.mpg")) + \
            sorted((FACEDATA / "videos" / "liveportrait_driving").glob("*.mp4")):
        frames = read_video(c, max_frames=200)
        for start in (0, 3000):
            window = retimed(frames, start, start + 3000)
            if len(window) > 30:
                yield "genuine", "real clip", window
        groups[frames[0].image_rgb.shape].append((c.stem, frames))
    for clips in groups.values():
        for (a, fa), (b, fb) in zip(clips, clips[1:] + clips[:1]):
            if a != b and {a, b} != same_man:
                yield "two people spliced", "real clips", retimed(fa, 0, 1500) + retimed(fb, 1500, 3000)


def bench_identity(portraits, identity, match_threshold: float):
    """The identity check alone: Sim of the best frame against the first and the last face, on
    genuine captures and on splices of two people, at the identity's operating point and at the
    comparison's (match_threshold)."""
    rng = random.Random(17)
    light, fine = tracking_mesher("light"), tracking_mesher("lip")
    cases = []
    for i, (name, p) in enumerate(portraits):
        other = portraits[(i + 1) % len(portraits)][1].aligned_to(p)
        ch = new_light_challenge(rng)
        cases.append(("genuine", "synthetic light", light,
                      light_capture([p], ch, genuine_light_params(rng), rng)))
        cases.append(("two people spliced", "synthetic light", light,
                      light_capture([p, other], ch, genuine_light_params(rng), rng)))
        talk = syllables(reading_onsets(rng), 0.4)
        blink = pulse(rng.uniform(500, 2000), 300)
        a = animated_capture(p, talk, blink, 3000, rng)
        cases.append(("genuine", "synthetic mouth+blink", fine, a))
        b = animated_capture(other, talk, none, 1500, rng)
        cases.append(("two people spliced", "synthetic mouth+blink", fine,
                      retimed(a, 0, 1500) + retimed(b, 0, 1500, 1500)))
    for kind, source, frames in real_identity_cases():
        cases += [(kind, source, light, frames), (kind, source + " (refined mesh)", fine, frames)]
    sims = defaultdict(list)
    for kind, source, mesher, frames in cases:
        s = identity_sims(frames, mesher, identity)
        if s:
            sims[(kind, source)].append(min(s))
    print(f"identity check alone (appearance and jump checks off), {identity.model_id}, best frame vs "
          f"first and last face:")
    for (kind, source), values in sims.items():
        v = np.array(values)
        verdict = "rejected" if kind == "genuine" else "accepted"
        wrong = (lambda t: (v < t).sum()) if kind == "genuine" else (lambda t: (v >= t).sum())
        print(f"  {kind:18s} {source:32s} {verdict} {wrong(identity.min_sim):2d}/{len(v):2d} at Sim "
              f"{identity.min_sim:g}, {wrong(match_threshold):2d}/{len(v)} at {match_threshold:g}; "
              f"Sim min {v.min():5.1f}, median {np.median(v):5.1f}, max {v.max():5.1f}")


def latency(portrait, rng, identity):
    """One check of a 3 s, 15 fps, 640x480 capture per mode, without and with the identity check
    (runs alternate, so that other load on the machine weighs on both alike), and ms per frame."""
    ch = new_light_challenge(rng)
    params = genuine_light_params(rng)
    frames = light_capture([portrait], ch, params, rng, tail_ms=3000 - ch.duration_ms)
    frames = [f for f in frames if f.timestamp_ms <= 3000]
    anim = animated_capture(portrait, syllables(reading_onsets(rng), 0.3), pulse(2000, 300), 3000, rng)
    anim = [f for f in anim if f.timestamp_ms <= 3000]
    audio = voiced(reading_onsets(rng), 3000, 1)
    runs = {
        "light": (tracking_mesher("light"), lambda m, i: verify_light(frames, ch, mesher=m, identity=i)),
        "lip": (tracking_mesher("lip"),
                lambda m, i: verify_lip(anim, LipChallenge("4827"), mesher=m, audio=audio, identity=i)),
        "action": (tracking_mesher("action"),
                   lambda m, i: verify_action(anim, ActionChallenge((1, 2)), mesher=m, identity=i)),
        "silent": (tracking_mesher("silent"), lambda m, i: verify_silent(frames, mesher=m, identity=i)),
    }
    print(f"latency of one check, {len(frames)} frames 640x480 over 3 s, 1 core (median of 15, min):")
    print(f"  identity check: {type(identity).__name__} on {identity.model_id}, same person at Sim >= "
          f"{identity.min_sim:g}")
    print(f"  {'mode':7s} {'without identity':>20s} {'with identity':>21s}  ratio of the medians")
    for mode, (mesher, fn) in runs.items():
        fn(mesher, None)
        fn(mesher, identity)
        times = {False: [], True: []}
        for _ in range(15):
            for with_identity in (False, True):
                t = time.perf_counter()
                fn(mesher, identity if with_identity else None)
                times[with_identity].append(1000 * (time.perf_counter() - t))
        med = {k: float(np.median(v)) for k, v in times.items()}
        low = {k: min(v) for k, v in times.items()}
        print(f"  {mode:7s} {med[False]:6.0f} ms (min {low[False]:4.0f})  "
              f"{med[True]:6.0f} ms (min {low[True]:4.0f})  {med[True] / med[False]:.2f}x "
              f"(of the minima {low[True] / low[False]:.2f}x; {med[True] / len(frames):.1f} ms/frame with identity)")
    track = track_face(frames, runs["light"][0])
    times = []
    for _ in range(15):
        t = time.perf_counter()
        identity_descriptors(track, frames, identity)
        times.append(1000 * (time.perf_counter() - t))
    print(f"  the identity step alone (3 descriptors of the light capture's track): "
          f"{float(np.median(times)):5.1f} ms (min {min(times):5.1f})")
    ch_paced = new_lip_challenge(rng)
    on, _ = paced_onsets(ch_paced, rng)
    paced = animated_capture(portrait, syllables(on, 0.3), none, ch_paced.duration_ms, rng)
    paced_audio = voiced(on, ch_paced.duration_ms, 2)
    mesher = runs["lip"][0]
    times = []
    for _ in range(5):
        t = time.perf_counter()
        verify_lip(paced, ch_paced, mesher=mesher, identity=identity, audio=paced_audio)
        times.append(1000 * (time.perf_counter() - t))
    print(f"  lip, a whole paced capture ({len(paced)} frames over {ch_paced.duration_ms / 1000:.1f} s), "
          f"with identity: {float(np.median(times)):6.0f} ms")
    dlib_native = DlibIdentity()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        verify_light(frames, ch, mesher=runs["light"][0], identity=dlib_native)
        times.append(1000 * (time.perf_counter() - t))
    print(f"  for comparison, light + DlibIdentity (dlib's own network, 3 descriptors): "
          f"{float(np.median(times)):6.0f} ms (median of 3)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer cases (smoke run)")
    ap.add_argument("--calibrate-lip", action="store_true", help="print the GRID split-A calibration only")
    ap.add_argument("--embedder", default=EngineOptions.embedder, choices=[e for e in EMBEDDERS if e != "onnx"],
                    help="the engine's embedder, the one the identity check runs (default: %(default)s)")
    ap.add_argument("--latency-only", action="store_true", help="the latency figures only")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)
    if args.calibrate_lip:
        calibrate_lip()
        return 0
    rng = random.Random(30107)   # not the tests' seeds
    photo_mesher = FaceMesher(max_faces=1, static=True)
    portraits = load_portraits(photo_mesher, extra=4 if args.quick else 10)
    print(f"{len(portraits)} real faces: {', '.join(n for n, _ in portraits)}")
    per = 1 if args.quick else 2
    engine = load_engine(EngineOptions(embedder=args.embedder, threads=1))
    identity = EngineIdentity(engine)   # what the service's LivenessKit runs
    latency(portraits[0][1], rng, identity)
    if args.latency_only:
        return 0
    bench_light(portraits, rng, per, identity).report("light")
    bench_lip(portraits, rng, per, identity).report("lip, paced")
    print("  * a stronger attack than the issue's: the same person's reading of another paced code, replayed")
    if FACEDATA.is_dir():
        bench_lip_unpaced(rng, identity).report("lip, unpaced (Cloud API)")
    bench_action(portraits, rng, per, identity).report("action")
    bench_action_real(identity).report("action, real clips")
    bench_silent(portraits, rng, identity).report("silent")
    bench_identity(portraits, identity, engine.match_threshold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
