"""Handlers turn messages into answers: they never import Flask or the signed-in web pages."""

import ast
from pathlib import Path

import pytest

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
FORBIDDEN = ("flask", "bot.pages")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (``from a import b`` counts ``a`` and
    ``a.b``, since ``b`` may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "handlers" if node.level else (node.module or "")
            if node.level and node.module:
                base = f"handlers.{node.module}"
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)


def test_the_walker_sees_the_imports_it_must_judge(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import flask\nfrom bot.pages.upload import PURPOSES\n"
        "def f():\n    from bot import pages\n",
        encoding="utf-8",
    )
    modules = imported_modules(sample)
    assert {"flask", "bot.pages.upload", "bot.pages"} <= modules
    assert all(forbidden(m) for m in ("flask", "bot.pages.upload", "bot.pages"))
    assert not forbidden("flask_like") and not forbidden("bot.pagesx")


def test_the_handlers_are_where_this_test_looks() -> None:
    assert {"record_flow.py", "uploads.py", "records.py"} <= {p.name for p in HANDLERS.glob("*.py")}


@pytest.mark.parametrize("path", sorted(HANDLERS.glob("*.py")), ids=lambda p: p.name)
def test_no_handler_imports_flask_or_the_pages(path: Path) -> None:
    modules = imported_modules(path)
    assert sorted(m for m in modules if forbidden(m)) == []
