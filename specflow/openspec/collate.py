"""Sort ids the way OpenSpec does with JavaScript's ``localeCompare`` (ICU root collation).

Only the parts that matter for change and capability ids are modelled: punctuation sorts before
digits, digits before letters, letters ignore case and accents first (``a`` < ``B`` < ``c``), then
accents, then lower case before upper case.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# ICU root order of ASCII punctuation and symbols (all before digits and letters).
_PUNCT_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PUNCT = {ch: i for i, ch in enumerate(_PUNCT_ORDER)}


@lru_cache(maxsize=4096)
def _char_key(ch: str) -> tuple[int, int, int, int]:
    if ch in _PUNCT:
        return (0, _PUNCT[ch], 0, 0)
    if "0" <= ch <= "9":
        return (1, ord(ch), 0, 0)
    if ch.isascii():
        if ch.isalpha():
            return (2, ord(ch.lower()), 0, 1 if ch.isupper() else 0)
        return (0, 100 + ord(ch), 0, 0)
    base = unicodedata.normalize("NFD", ch)
    first = base[0]
    accent = 1 if len(base) > 1 else 0
    if first.isascii() and first.isalpha():
        return (2, ord(first.lower()), accent, 1 if first.isupper() else 0)
    if first.isalpha():
        return (3, ord(first.lower()), accent, 1 if first.isupper() else 0)
    return (0, 200 + ord(first), accent, 0)


def collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A key such that ``sorted(ids, key=collation_key)`` matches ``ids.sort(localeCompare)``."""
    keys = [_char_key(c) for c in text]
    primary = tuple(k for key in keys for k in key[:2])
    secondary = tuple(key[2] for key in keys)
    tertiary = tuple(key[3] for key in keys)
    return primary, secondary, tertiary


__all__ = ["collation_key"]
