"""Random challenges for the active modes, and their JSON form.

The caller passes the random source (``random.SystemRandom()`` in production, a seeded
``random.Random`` in tests) so that challenges are unpredictable where it matters and
reproducible where that matters.
"""
from __future__ import annotations

import random as _random
from dataclasses import dataclass

# Saturated colours only: the check reads the chroma of the reflection, and white/grey carry none.
PALETTE = ("#FF0000", "#00FF00", "#0000FF", "#FFFF00", "#00FFFF", "#FF00FF")

MIN_SLOT_MS, MAX_SLOT_MS = 250, 400
# The generator draws from the upper part of the allowed range: a replay shifted by one slot
# looks like a lag of one slot, and verification accepts lags up to ~200 ms, so a longer slot
# leaves a wider margin between the two (docs/liveness.md, "light").
GEN_MIN_SLOT_MS = 300


@dataclass(frozen=True)
class LightChallenge:
    """Colours shown one after another from t=0, each for ``slot_ms``; colours are "#RRGGBB"."""

    colors: tuple[str, ...]
    slot_ms: int
    nonce: str = ""

    def rgb(self) -> list[tuple[float, float, float]]:
        """Colours as sRGB floats in 0..1."""
        return [tuple(int(c[i:i + 2], 16) / 255.0 for i in (1, 3, 5)) for c in self.colors]

    @property
    def duration_ms(self) -> int:
        return self.slot_ms * len(self.colors)

    def to_json(self) -> dict:
        return {"colors": list(self.colors), "slot_ms": self.slot_ms, "nonce": self.nonce}

    @classmethod
    def from_json(cls, data: dict) -> "LightChallenge":
        colors = tuple(str(c).upper() for c in data["colors"])
        for c in colors:
            if len(c) != 7 or c[0] != "#" or any(ch not in "0123456789ABCDEF" for ch in c[1:]):
                raise ValueError(f"bad colour {c!r}; want #RRGGBB")
        if len(colors) < 2:
            raise ValueError("a light challenge needs at least two colours")
        return cls(colors, int(data["slot_ms"]), str(data.get("nonce", "")))


# Paced digit challenge: the digits appear one at a time, each at a random moment, and the user
# reads each as it appears. The speech and the mouth must then follow the issued moments, which a
# recording made for another challenge, or unrelated speech, does not (docs/liveness.md, "digit").
# The first digit appears 500-900 ms after the start (time to look at the screen); the gaps are
# drawn from 700-1700 ms: a digit is read within ~0.4-1 s of appearing, and the wider the spread
# of the gaps, the less often another challenge's timing fits this one by accident.
FIRST_SHOW_MS = (500, 900)
SHOW_GAP_MS = (700, 1700)
READ_TAIL_MS = 1500    # after the last digit appears: the slowest accepted reading, then stop
UNPACED_CAPTURE_MS = 4000   # the whole code shown at once: read four digits


@dataclass(frozen=True)
class LipChallenge:
    """A one-time code of digits to read aloud.

    ``show_ms`` (paced challenge) holds when each digit appears, in ms from the challenge start;
    the page shows that digit alone until the next one appears. Empty: the whole code is shown at
    once (the Cloud API's GetLiveCode, whose clients show the code themselves).
    """

    code: str
    show_ms: tuple[int, ...] = ()

    @property
    def paced(self) -> bool:
        return bool(self.show_ms)

    @property
    def duration_ms(self) -> int:
        """How long to capture: until the slowest accepted reading of the last digit is over."""
        return self.show_ms[-1] + READ_TAIL_MS if self.show_ms else UNPACED_CAPTURE_MS

    def to_json(self) -> dict:
        if not self.show_ms:
            return {"code": self.code}
        return {"code": self.code, "show_ms": list(self.show_ms), "duration_ms": self.duration_ms}

    @classmethod
    def from_json(cls, data: dict) -> "LipChallenge":
        code = str(data["code"])
        if not code.isdigit():
            raise ValueError("the lip code must be digits")
        show = tuple(int(t) for t in data.get("show_ms") or ())
        if show and (len(show) != len(code) or any(t < 0 for t in show)
                     or any(b <= a for a, b in zip(show, show[1:]))):
            raise ValueError("show_ms must give one increasing time (ms >= 0) per digit")
        return cls(code, show)


OPEN_MOUTH, BLINK = 1, 2


@dataclass(frozen=True)
class ActionChallenge:
    """Actions in the order to perform them: 1 = open mouth, 2 = blink."""

    sequence: tuple[int, ...]

    def to_json(self) -> dict:
        return {"sequence": ",".join(str(a) for a in self.sequence)}

    @classmethod
    def from_json(cls, data: dict) -> "ActionChallenge":
        seq = tuple(int(s) for s in str(data["sequence"]).split(","))
        if not seq or any(a not in (OPEN_MOUTH, BLINK) for a in seq):
            raise ValueError("action sequence must be a comma list of 1 (open mouth) and 2 (blink)")
        return cls(seq)


def new_light_challenge(rng: _random.Random, n_colors: int = 6) -> LightChallenge:
    """``n_colors`` (>= 6) palette colours, never the same twice in a row, one slot length
    drawn from 300..400 ms, and a 128-bit nonce."""
    if n_colors < 6:
        raise ValueError("at least 6 colours")
    colors: list[str] = []
    for _ in range(n_colors):
        colors.append(rng.choice([c for c in PALETTE if not colors or c != colors[-1]]))
    slot_ms = rng.randrange(GEN_MIN_SLOT_MS, MAX_SLOT_MS + 1, 10)
    return LightChallenge(tuple(colors), slot_ms, f"{rng.getrandbits(128):032x}")


def new_lip_challenge(rng: _random.Random, n_digits: int = 4, paced: bool = True) -> LipChallenge:
    """``n_digits`` random digits; paced (default): each with a random moment to appear."""
    code = "".join(str(rng.randrange(10)) for _ in range(n_digits))
    if not paced:
        return LipChallenge(code)
    show = [rng.randrange(FIRST_SHOW_MS[0], FIRST_SHOW_MS[1] + 1, 10)]
    for _ in range(n_digits - 1):
        show.append(show[-1] + rng.randrange(SHOW_GAP_MS[0], SHOW_GAP_MS[1] + 1, 10))
    return LipChallenge(code, tuple(show))


def new_action_challenge(rng: _random.Random) -> ActionChallenge:
    return ActionChallenge(rng.choice([(OPEN_MOUTH, BLINK), (BLINK, OPEN_MOUTH)]))
