"""Resident ID numbers (GB 11643-1999) and names: validation and masking. Pure functions, no I/O."""
from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"          # index = weighted sum mod 11
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")   # uppercase X only, as the cloud requires
_EARLIEST_BIRTH = dt.date(1900, 1, 1)

# Chinese names: Han characters (basic + extension A) with the interpunct used in transliterated and
# minority names (·, also the full-width/katakana look-alikes people type); 2-32 characters.
_CHINESE_NAME = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff](?:[\u3400-\u4dbf\u4e00-\u9fff\u00b7\u30fb\uff0e]*"
                           r"[\u3400-\u4dbf\u4e00-\u9fff])?$")
# Foreign permanent residents' and passport-style names: Latin letters and single spaces.
_LATIN_NAME = re.compile(r"^[A-Za-z]+(?: [A-Za-z]+)*$")


class InvalidIdNumber(ValueError):
    pass


class InvalidName(ValueError):
    pass


def check_char(first17: str) -> str:
    return _CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def validate_id_number(value: str, today: dt.date) -> str:
    """Return the ID number if it is a valid 18-character resident ID number, else raise.

    ``today`` bounds the birth date (no births in the future); the caller passes its clock's date.
    """
    if not isinstance(value, str) or not _ID_SHAPE.match(value):
        raise InvalidIdNumber("expected 17 digits and a check character (0-9 or uppercase X)")
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("the birth date is not a calendar date") from None
    if born < _EARLIEST_BIRTH or born > today:
        raise InvalidIdNumber("the birth date is out of range")
    if check_char(value[:17]) != value[17]:
        raise InvalidIdNumber("the check character does not match")
    return value


def validate_name(value: str) -> str:
    """Return the name (surrounding spaces trimmed) if it is a plausible Chinese or Latin name."""
    if not isinstance(value, str):
        raise InvalidName("name must be text")
    name = value.strip()
    if _CHINESE_NAME.match(name):
        if not 2 <= len(name) <= 32:
            raise InvalidName("a Chinese name has 2-32 characters")
        return name
    if _LATIN_NAME.match(name):
        if not 2 <= len(name) <= 64:
            raise InvalidName("a Latin-letter name has 2-64 characters")
        return name
    raise InvalidName("a name is Han characters (with ·) or Latin letters and spaces")


def normalise_name(name: str) -> str:
    """The form names are compared in: interpunct variants unified, Latin case and spacing folded."""
    name = name.strip().replace("\u30fb", "\u00b7").replace("\uff0e", "\u00b7")
    return " ".join(name.split()).upper()


def mask_id_number(value: str | None) -> str:
    """1101**********1234 for usage records and logs; '' when there is nothing to mask."""
    if not value:
        return ""
    value = str(value)
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
