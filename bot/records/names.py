"""Finding a student among a mentor's own students by what the mentor typed.

A query matches a student by exact name (张三), full pinyin (zhangsan, zhang san, ZhangSan) or
initials (zs). Nothing is guessed: several matches are ``ambiguous``, none is ``unknown``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z][A-Za-z\s'·]*")


@dataclass(frozen=True)
class Student:
    """A student as the matcher sees one: id and name."""

    id: int
    name: str


class Outcome(enum.StrEnum):
    FOUND = "found"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NameMatch:
    query: str
    outcome: Outcome
    candidates: tuple[Student, ...]

    @property
    def student(self) -> Student:
        if self.outcome != Outcome.FOUND:
            raise ValueError(f"{self.query!r} is {self.outcome}")
        return self.candidates[0]


@lru_cache(maxsize=4096)
def spellings(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a Chinese name, lower case, without tones or spaces."""
    syllables = [syllable.lower() for syllable in lazy_pinyin(name, errors="ignore")]
    initials = [
        (letter or syllable)[0]
        for letter, syllable in zip(
            lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore"), syllables, strict=False
        )
        if letter or syllable
    ]
    return "".join(syllables), "".join(initials).lower()


def normalise(query: str) -> str:
    return re.sub(r"[\s'·]", "", query).lower()


def match_name(query: str, students: Iterable[Student]) -> NameMatch:
    """The students ``query`` names: exact name first, then pinyin, then initials."""
    query = query.strip()
    roster = list(students)
    exact = [student for student in roster if student.name == query]
    if not exact and not _HAN.search(query) and _LATIN.fullmatch(query):
        wanted = normalise(query)
        exact = [student for student in roster if spellings(student.name)[0] == wanted]
        if not exact:
            exact = [student for student in roster if spellings(student.name)[1] == wanted]
    exact = _unique(exact)
    if len(exact) == 1:
        return NameMatch(query, Outcome.FOUND, tuple(exact))
    if exact:
        return NameMatch(query, Outcome.AMBIGUOUS, tuple(exact))
    return NameMatch(query, Outcome.UNKNOWN, ())


def search(query: str, students: Sequence[Student]) -> list[Student]:
    """Students whose name or pinyin contains or starts with ``query`` (for the picker)."""
    query = query.strip()
    if not query:
        return []
    wanted = normalise(query)
    found = []
    for student in students:
        full, initials = spellings(student.name)
        if query in student.name or (
            wanted.isascii() and (full.startswith(wanted) or initials.startswith(wanted))
        ):
            found.append(student)
    return found


def could_be_name(token: str) -> bool:
    """A token shaped like a person's name: 2–4 Han characters, or Latin letters."""
    return bool(re.fullmatch(r"[\u4e00-\u9fff·]{2,5}", token) or _LATIN.fullmatch(token))


def _unique(students: list[Student]) -> list[Student]:
    seen: dict[int, Student] = {}
    for student in students:
        seen.setdefault(student.id, student)
    return list(seen.values())
