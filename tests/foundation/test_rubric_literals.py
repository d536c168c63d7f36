"""The regulation is data: no rubric item id is written into the Python of ``bot/``,
``handlers/`` or ``scheduler/``. What a record counts for, which item a card or an example
names, is asked of the rubric (``scoring/rubrics/*.toml``, read through ``bot.core.rubrics``),
so a rubric file for another regulation needs no code change.

The check walks each module's syntax tree and looks at every string constant (f-string parts
too) except docstrings: one that is an item id, or holds one as a word of its own
(``"异议 B4 我…"``), is a literal of the regulation.
"""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
from pathlib import Path

from scoring import load_rubric

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "scheduler")
ITEM_IDS = frozenset(
    item.id
    for path in sorted((ROOT / "scoring" / "rubrics").glob("*.toml"))
    for item in load_rubric(str(path)).items
)

#: The demo's seed data may name items (it plays a year of a real regulation).
SEED_DATA = "bot/devtools/demo_*.py"
#: Not items: openpyxl cell addresses that happen to spell one (``sheet["A1"]``).
CELL_ADDRESSES = {"bot/cycle/workbook.py": {"A1", "A2"}, "bot/cycle/export.py": {"A2"}}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def item_literals(source: str, ids: frozenset[str] = ITEM_IDS) -> list[tuple[int, str]]:
    """(line, item id) for every item id a string constant of ``source`` spells."""
    word = re.compile(
        r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, ids))) + r")(?![A-Za-z0-9_])"
    )
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found.extend((node.lineno, match) for match in word.findall(node.value))
    return sorted(found)


def test_the_check_finds_item_ids_in_strings_and_f_strings_but_not_in_docstrings():
    source = '''
"""A module about B4."""
def f(x):
    """Counts for M1."""
    items = ["B4"]
    return f"例：更正 {x} M2 4.5", "项目M3得分", "E2E", "AB4", "B45", items
'''
    assert item_literals(source) == [(5, "B4"), (6, "M2"), (6, "M3")]


def test_no_rubric_item_id_is_a_literal_in_bot_handlers_or_scheduler():
    assert {"B4", "M1", "S1", "E2"} <= ITEM_IDS  # the packaged rubric was read
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if fnmatch(name, SEED_DATA):
                continue
            allowed = CELL_ADDRESSES.get(name, set())
            found += [
                f"{name}:{line}: {item}"
                for line, item in item_literals(path.read_text(encoding="utf-8"))
                if item not in allowed
            ]
    assert found == [], "ask the rubric (bot.core.rubrics) instead of naming items:\n" + "\n".join(
        found
    )
