"""Numbers as Metarank 0.4.1 reads them (circe 0.14 decoders over circe-yaml's JSON).

circe's ``Decoder[Int]`` takes a JSON number that is whole and within 32 bits (``4.0`` and ``1e3``
too), and also a JSON *string* that holds such a number (``"8080"``); ``Decoder[Double]`` takes
any JSON number or a string holding one. "JSON number" is JSON's grammar: no ``+``, no leading
zeros, no ``.5``, no ``inf``/``nan`` (``JsonNumber.fromString``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MAX = 2**63 - 1
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")


def json_number(text: str) -> Decimal | None:
    """``text`` as circe's ``JsonNumber.fromString`` reads it, or None."""
    if not JSON_NUMBER.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def _whole_in_range(number: Decimal, low: int, high: int) -> int | None:
    if not number.is_finite() or number < low or number > high:
        return None
    whole = number.to_integral_value()
    return int(whole) if whole == number else None


def engine_int(value: Any) -> int | None:
    """What circe's ``Decoder[Int]`` makes of ``value`` (a loaded YAML scalar), None when it fails."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if INT_MIN <= value <= INT_MAX else None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return _whole_in_range(Decimal(value), INT_MIN, INT_MAX)
    if isinstance(value, str):
        number = json_number(value)
        return None if number is None else _whole_in_range(number, INT_MIN, INT_MAX)
    return None


def engine_double(value: Any) -> float | None:
    """What circe's ``Decoder[Double]`` makes of ``value``, None when it fails."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        number = json_number(value)
        return None if number is None else float(number)
    return None
