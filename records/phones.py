"""Vietnamese phone numbers as the records keep them: digits with a leading 0, never ``+84``.

The national plan has two shapes: a mobile is 0 + 9 digits (``0909123456``), a landline is
02 + 9 digits (``02838221234``). ``+84`` and ``84`` in front are the country code and become the
leading 0 (``+84 90 912 3456`` -> ``0909123456``); anything else (``00`` international access,
another country code, premium-rate and short numbers such as ``1900xxxx``) is not a national
number. Pure: no database, so the ACD's callback policy uses it too.
"""

from __future__ import annotations

import re

from .results import Invalid

_PHONE_NOISE = re.compile(r"[\s.\-()]")
_MOBILE = re.compile(r"0[35789][0-9]{8}")
_LANDLINE = re.compile(r"02[0-9]{9}")


def phone_number(text: str) -> str | Invalid:
    """A Vietnamese number as stored: leading 0, no +84; a mobile is 0 + 9 digits
    (``+84 90 912 3456`` -> ``0909123456``), a landline 02 + 9 digits (``02838221234``)."""
    digits = _PHONE_NOISE.sub("", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not (_MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits)):
        return Invalid("phone", "not a Vietnamese phone number: a mobile 0 + 9 digits "
                                "(0901234567) or a landline 02 + 9 digits (02838221234)")
    return digits
