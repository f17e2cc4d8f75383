"""Grammar recognition, the pure part: what the recogniser may hear, and what a result means.

A :class:`Grammar` maps phrases to results (a menu's option keys, a confirm's ``yes``/``no``) or,
for a number, digit words to digits. The recogniser is restricted to the grammar's words (no
open vocabulary); :func:`match` turns the words it heard, each with its confidence, into a
:class:`Recognition`.

Grammar recognisers can hear a phrase twice or add a stray word ("이 여덟" for "여덟"): every
word heard is covered by at most one phrase, and a result's confidence is the confidence of the
words its phrases cover divided by all the words heard. So an exact phrase scores its own
confidence, and a result among stray words scores lower (and is confirmed with the caller, see
``docs/speech.md``). Two different results in one utterance ("네 아니요", which noise can give)
are no result: the caller is asked again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Digit words read by a ``collect`` node with speech, per language (spoken digit by digit).
DIGIT_WORDS: dict[str, dict[str, str]] = {
    "vi": {"không": "0", "một": "1", "hai": "2", "ba": "3", "bốn": "4", "tư": "4", "năm": "5",
           "lăm": "5", "sáu": "6", "bảy": "7", "tám": "8", "chín": "9"},
    "en": {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
           "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"},
    "ko": {"영": "0", "공": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6",
           "칠": "7", "팔": "8", "구": "9"},
}

_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[.,!?;:\"'()]")


def normalise(phrase: str) -> str:
    """Lower case, no punctuation, single spaces: how phrases are compared."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", phrase.lower())).strip()


@dataclass(frozen=True)
class Grammar:
    """``phrases``: normalised phrase -> result; ``digits``: word -> digit (a number's grammar).
    Exactly one of the two is used."""

    phrases: Mapping[str, str]
    digits: Mapping[str, str] | None = None

    @classmethod
    def of_phrases(cls, by_result: Mapping[str, Iterable[str]]) -> Grammar:
        """``{"1": ["mất điện", "cúp điện"], "2": ["hóa đơn"]}``; a phrase given for two
        results raises ValueError (the menu validator reports it at its place first)."""
        phrases: dict[str, str] = {}
        for result, texts in by_result.items():
            for text in texts:
                phrase = normalise(text)
                if not phrase:
                    raise ValueError(f"an empty phrase for {result!r}")
                if phrases.get(phrase, result) != result:
                    raise ValueError(f"{text!r} is a phrase of both {phrases[phrase]!r} and "
                                     f"{result!r}")
                phrases[phrase] = result
        if not phrases:
            raise ValueError("a grammar needs at least one phrase")
        return cls(phrases)

    @classmethod
    def of_digits(cls, language: str) -> Grammar:
        if language not in DIGIT_WORDS:
            raise ValueError(f"no digit words for language {language!r} (known: "
                             f"{', '.join(DIGIT_WORDS)})")
        return cls({}, DIGIT_WORDS[language])

    def vocabulary(self) -> list[str]:
        """The phrases (or digit words) the recogniser is restricted to."""
        return sorted(self.digits) if self.digits is not None else sorted(self.phrases)


@dataclass(frozen=True)
class Recognition:
    """What was heard: ``result`` (an option, ``yes``/``no``, a digit string) or None when
    nothing in the grammar was heard; ``text`` is what the recogniser said."""

    result: str | None
    confidence: float
    text: str
    phrase: str | None = None
    speech: bool = True  # False: silence or steady noise, not decoded


def match(grammar: Grammar, heard: list[tuple[str, float]]) -> Recognition:
    """``heard``: the recogniser's words with their confidence (0-1), unknown tokens included."""
    text = " ".join(word for word, _ in heard)
    words = [normalise(word) for word, _ in heard]
    if not words:
        return Recognition(None, 0.0, text)
    if grammar.digits is not None:
        if not all(word in grammar.digits for word in words):
            return Recognition(None, 0.0, text)
        confidence = sum(conf for _, conf in heard) / len(heard)
        return Recognition("".join(grammar.digits[w] for w in words), round(confidence, 3),
                           text, text)
    covered: dict[str, list[int]] = {}
    phrase_of: dict[str, str] = {}
    for phrase, result in sorted(grammar.phrases.items(), key=lambda p: -len(p[0].split())):
        tokens = phrase.split()
        for start in range(len(words) - len(tokens) + 1):
            span = range(start, start + len(tokens))
            if words[start:start + len(tokens)] != tokens:
                continue
            taken = covered.setdefault(result, [])
            if any(i in taken for i in span):
                continue
            taken.extend(span)
            phrase_of.setdefault(result, phrase)
    if len(covered) != 1:
        return Recognition(None, 0.0, text)  # nothing, or two answers at once
    (result, spans), = covered.items()
    confidence = sum(heard[i][1] for i in spans) / len(words)
    return Recognition(result, round(confidence, 3), text, phrase_of[result])
