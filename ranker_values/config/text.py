"""Text helpers shared by the schema and the rules: "did you mean" suggestions and redaction.

They live apart so that ``schema`` and ``rules`` depend on this module, not on each other.
"""

from __future__ import annotations

import difflib
from typing import Iterable

_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
_AUTHORITY_END = frozenset("/?#@")


def password_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every password in a ``scheme://user:password@`` URL in ``text``.

    A linear scan, not a regex: the regex this replaces
    (``[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\\s:]*:[^/?#@\\s]+@``) retried the scheme from every
    position and took quadratic time on long values (100k characters: 7 s). Here each ``://`` is
    found once with ``str.find``; the scheme run before it and the authority after it end at the
    next ``://`` at the latest, so every character is looked at a bounded number of times.
    """
    spans = []
    position = text.find("://")
    while position != -1:
        # scheme: a run of scheme characters ending right before "://", containing a letter
        start = position
        while start > 0 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        has_letter = any(c.isascii() and c.isalpha() for c in text[start:position])
        # authority: up to the first of / ? # @ or whitespace
        end = position + 3
        colon = -1
        while end < len(text) and text[end] not in _AUTHORITY_END and not text[end].isspace():
            if colon == -1 and text[end] == ":":
                colon = end
            end += 1
        if has_letter and colon != -1 and end < len(text) and text[end] == "@" and end > colon + 1:
            spans.append((colon + 1, end))
        position = text.find("://", position + 1)
    return spans


def has_password_in_url(text: str) -> bool:
    return bool(password_spans(text))


def redact(text: str) -> str:
    """``redis://u:hunter2@host`` → ``redis://u:***@host`` (linear time)."""
    spans = password_spans(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append("***")
        last = end
    out.append(text[last:])
    return "".join(out)


def near_miss(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` most likely misspells (case-insensitive), if any is close."""
    candidates = list(candidates)
    by_lower = {c.lower(): c for c in candidates}
    if word.lower() in by_lower and by_lower[word.lower()] != word:
        return by_lower[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


class Suggester:
    """``near_miss`` against one fixed list of candidates, many times: the case-folded index is
    built once, and after ``budget`` fuzzy searches (each costs time in proportion to the number
    of candidates) only exact case-insensitive matches are suggested, so thousands of unknown
    names against thousands of candidates stay linear instead of quadratic."""

    def __init__(self, candidates: Iterable[str], budget: int = 20):
        self.by_lower: dict[str, str] = {}
        for candidate in candidates:
            self.by_lower.setdefault(candidate.lower(), candidate)
        self._keys = list(self.by_lower)
        self.budget = budget

    def near(self, word: str) -> str | None:
        lower = word.lower()
        if lower in self.by_lower and self.by_lower[lower] != word:
            return self.by_lower[lower]
        if self.budget <= 0:
            return None
        self.budget -= 1
        close = difflib.get_close_matches(lower, self._keys, n=1, cutoff=0.75)
        return self.by_lower[close[0]] if close else None
