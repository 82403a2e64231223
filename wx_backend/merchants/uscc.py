"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

Layout of the 18 characters::

    1      registration authority (登记管理部门码)
    2      organisation type (机构类别码)
    3-8    administrative division (登记管理机关行政区划码), 6 digits
    9-17   organisation code (主体标识码), itself checked by GB 11714's digit (position 17)
    18     check character over positions 1-17

The alphabet is 0-9 and the capital letters minus I, O, Z, S, V (31 symbols, value = index). The
check character is ``31 - (sum(value_i * 3**i mod 31) mod 31)`` with 31 mapped to 0.
"""
from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)   # 3**i mod 31
# GB 11714 organisation code: 8 body characters (0-9 -> 0-9, A-Z -> 10-35) and a check digit.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


class UsccError(ValueError):
    """The text is not a valid unified social credit code; the message says why (Chinese)."""


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (already in ALPHABET)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_character(body8: str) -> str:
    """The GB 11714 check character ('0'-'9' or 'X') for an 8-character organisation code body."""
    total = sum(int(ch, 36) * w for ch, w in zip(body8, ORG_WEIGHTS))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def normalise(text: str) -> str:
    """Trim and upper-case; full-width characters are not converted (they are simply invalid)."""
    return (text or "").strip().upper()


def validate(text: str) -> str:
    """The normalised code, or UsccError naming the first problem."""
    code = normalise(text)
    if len(code) != 18:
        raise UsccError(f"统一社会信用代码应为18位，当前为{len(code)}位")
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        raise UsccError("统一社会信用代码含有不允许的字符：" + "".join(bad) + "（不使用 I、O、Z、S、V）")
    if not code[2:8].isdigit():
        raise UsccError("统一社会信用代码第3-8位（行政区划码）应为数字")
    if org_check_character(code[8:16]) != code[16]:
        raise UsccError("统一社会信用代码第9-17位（组织机构代码）校验位错误")
    if check_character(code[:17]) != code[17]:
        raise UsccError("统一社会信用代码校验位（第18位）错误")
    return code


def is_valid(text: str) -> bool:
    try:
        validate(text)
    except UsccError:
        return False
    return True
