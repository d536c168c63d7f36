"""Uploaded files: clean names, a type from the checked extension, and never a stored file
without its row (a database failure removes the file and answers 503 in Chinese)."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from bot.core.filenames import CONTENT_TYPES, clean_filename, content_type_of
from bot.core.models import AcademicYear, AuditEntry, EvidenceFile, OutboxMessage, Record, Role
from bot.core.storage import app_file_store
from bot.pages.upload import DOCUMENT_TYPES
from tests.factories import add_person, signed_in

PDF = b"%PDF-1.4\n" + b"0" * 2000


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("计划.pdf", "计划.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("line\r\nbreak\t.pdf", "linebreak.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),  # a right-to-left override hides the extension
        ("zero\u200bwidth.docx", "zerowidth.docx"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\王\\总结.docx", "总结.docx"),
        ("\x00\x01.pdf", "文件.pdf"),
        ("  ...  ", "文件"),
        ("", "文件"),
        ("report.PDF", "report.PDF"),
    ],
)
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean


def test_a_long_name_is_cut_and_keeps_its_extension():
    name = clean_filename("很长" * 200 + ".docx")
    assert len(name) == 100
    assert name.endswith("很长很.docx") or name.endswith(".docx")
    assert clean_filename("x" * 300) == "x" * 100
    assert clean_filename("a." + "b" * 40) == ("a." + "b" * 40)[:100]  # no such extension


def test_every_stored_document_type_has_a_fixed_content_type():
    assert set(DOCUMENT_TYPES) <= set(CONTENT_TYPES)
    assert content_type_of("总结.PDF") == "application/pdf"
    assert content_type_of("page.html") == "application/octet-stream"


@pytest.fixture
def mentor(app, database) -> str:
    today = date.today()
    first = today.year if today.month >= 9 else today.year - 1
    with database.session() as session:
        session.add(
            AcademicYear(
                code=f"{first}-{first + 1}",
                starts_on=date(first, 9, 1),
                ends_on=date(first + 1, 8, 31),
            )
        )
        add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
    return "wanglaoshi"


def _upload(app, userid: str, filename: str, content: bytes, content_type: str, purpose: str):
    browser = signed_in(app, userid)
    with browser.session_transaction() as session:
        session["csrf"] = "test-csrf"
    return browser.post(
        "/m/upload",
        data={
            "csrf": "test-csrf",
            "purpose": purpose,
            "file": (io.BytesIO(content), filename, content_type),
        },
        content_type="multipart/form-data",
    )


def _count(database, model) -> int:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("purpose", ["annual_summary", "monthly_plan"])
def test_a_filename_with_a_nul_byte_is_stored_cleaned(app, database, mentor, purpose):
    """On PostgreSQL a NUL in a text column is refused after the file was written: a 500 and
    an orphan file. The name is cleaned before anything is stored, on every back end."""
    answer = _upload(app, mentor, "计划\x00<b>.pdf", PDF, "text/html", purpose)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    with database.session() as session:
        evidence = session.scalars(sa.select(EvidenceFile)).one()
        assert evidence.filename == "计划<b>.pdf"
        assert evidence.content_type == "application/pdf"  # not what the uploader said
        [message] = session.scalars(sa.select(OutboxMessage)).all()
        assert "\x00" not in message.payload["text"]["content"]
    assert list(app_file_store(app).keys()) == [evidence.storage_key]


def test_a_database_failure_leaves_no_file_and_answers_503(app, database, mentor, capfd):
    @sa.event.listens_for(database.engine, "before_cursor_execute")
    def refuse(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith("INSERT INTO EVIDENCE_FILE"):
            raise sa.exc.OperationalError(statement, {}, Exception("database went away"))

    try:
        answer = _upload(app, mentor, "学期计划.pdf", PDF, "application/pdf", "monthly_plan")
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", refuse)
    assert answer.status_code == 503
    assert "系统暂时无法保存，这次上传没有保存" in answer.get_data(as_text=True)
    assert list(app_file_store(app).keys()) == []
    for model in (EvidenceFile, Record, AuditEntry, OutboxMessage):
        assert _count(database, model) == 0
    assert "Traceback" not in capfd.readouterr().err


def test_a_file_already_stored_for_another_row_is_kept(app, database, mentor):
    assert (
        _upload(app, mentor, "一.pdf", PDF, "application/pdf", "annual_summary").status_code == 200
    )
    [key] = list(app_file_store(app).keys())

    @sa.event.listens_for(database.engine, "before_cursor_execute")
    def refuse(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith("INSERT INTO EVIDENCE_FILE"):
            raise sa.exc.OperationalError(statement, {}, Exception("database went away"))

    try:
        answer = _upload(app, mentor, "二.pdf", PDF, "application/pdf", "annual_summary")
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", refuse)
    assert answer.status_code == 503
    assert list(app_file_store(app).keys()) == [key]
    assert _count(database, EvidenceFile) == 1


def test_a_stored_file_is_served_as_an_attachment_of_its_checked_type(app, database, mentor):
    """A row from before names were cleaned, with the uploader's ``text/html``: the summary
    page sends the type of the stored extension, never sniffed, cached or shown inline."""
    assert _upload(app, mentor, "总结.pdf", PDF, "text/html", "annual_summary").status_code == 200
    with database.session() as session:
        evidence = session.scalars(sa.select(EvidenceFile)).one()
        evidence.content_type = "text/html"
        # PostgreSQL cannot store NUL; a carriage return, a line feed and a bell it can
        evidence.filename = "总结<script>\r\n\x07.pdf"
        evidence_id = evidence.id
    answer = signed_in(app, mentor).get(f"/m/cycle/summary/{evidence_id}")
    assert answer.status_code == 200
    assert answer.data == PDF
    assert answer.mimetype == "application/pdf"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%80%BB%E7%BB%93%3Cscript%3E.pdf" in disposition
    assert not any(c in disposition for c in "\r\n\x07")


def test_every_download_is_an_attachment_never_sniffed_or_cached():
    from bot.pages.files import XLSX, download_response, xlsx_response

    built = xlsx_response("2025-2026-考核结果.xlsx", b"PK")
    assert built.mimetype == XLSX
    assert built.headers["X-Content-Type-Options"] == "nosniff"
    assert built.headers["Cache-Control"] == "no-store"
    assert built.headers["Content-Disposition"] == (
        "attachment; filename=\"2025-2026-.xlsx\"; filename*=UTF-8''"
        "2025-2026-%E8%80%83%E6%A0%B8%E7%BB%93%E6%9E%9C.xlsx"
    )
    page = download_response("page.html", b"<script>alert(1)</script>")
    assert page.mimetype == "application/octet-stream"
    assert (
        download_response("计划.pdf", b"%PDF")
        .headers["Content-Disposition"]
        .startswith('attachment; filename="download.pdf";')
    )
