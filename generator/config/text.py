"""Text helpers shared by the schema and the rules: "did you mean" suggestions and redaction.

They live apart so that ``schema`` and ``rules`` depend on this module, not on each other.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable

USERINFO_WITH_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^/?#@\s:]*):(?P<password>[^/?#@\s]+)@")


def redact(text: str) -> str:
    """``redis://u:hunter2@host`` → ``redis://u:***@host``."""
    return USERINFO_WITH_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def near_miss(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` most likely misspells (case-insensitive), if any is close."""
    candidates = list(candidates)
    by_lower = {c.lower(): c for c in candidates}
    if word.lower() in by_lower and by_lower[word.lower()] != word:
        return by_lower[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None
