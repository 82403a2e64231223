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


@dataclass(frozen=True)
class LipChallenge:
    """A one-time code of digits to read aloud."""

    code: str

    def to_json(self) -> dict:
        return {"code": self.code}

    @classmethod
    def from_json(cls, data: dict) -> "LipChallenge":
        code = str(data["code"])
        if not code.isdigit():
            raise ValueError("the lip code must be digits")
        return cls(code)


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


def new_lip_challenge(rng: _random.Random, n_digits: int = 4) -> LipChallenge:
    return LipChallenge("".join(str(rng.randrange(10)) for _ in range(n_digits)))


def new_action_challenge(rng: _random.Random) -> ActionChallenge:
    return ActionChallenge(rng.choice([(OPEN_MOUTH, BLINK), (BLINK, OPEN_MOUTH)]))
