"""A college admin's scoring upload refuses a zip bomb and a file that is not a workbook
before anything is inflated, stored or saved."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bot.core.models import ItemScore, Person
from bot.core.storage import FileStore
from bot.cycle import opening
from bot.pages.cycle import PENDING
from tests.cycle.conftest import Browser, save, workbook_rows
from tests.cycle.test_permissions import ENV
from tests.zipbomb import with_padding


def _open_cycle(database) -> int:
    with database.session() as session:
        office = session.scalar(sa.select(Person).where(Person.userid == "shuyuan_admin"))
        cycle = opening.open_cycle(
            session, year_code="2025-2026", actor=office, now=datetime.now(UTC), env=ENV
        )
        return cycle.id


def _filled(content: bytes) -> bytes:
    """The college's workbook with a valid B1 score for its first mentor."""
    book, sheet, headers = workbook_rows(content)
    sheet.cell(4, headers["B1 评分（满分 2）"], 2)
    return save(book)


def _nothing_kept(app, database, browser: Browser, keys_before: set[str]) -> None:
    store = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    assert set(store.keys()) == keys_before
    with browser.client.session_transaction() as session:
        assert PENDING not in session
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ItemScore)) == 0


def test_a_zip_bomb_and_a_non_workbook_are_refused_and_nothing_is_kept(app, database, demo):
    cycle_id = _open_cycle(database)
    hub = f"/m/cycle/{cycle_id}/scores/college-{demo['CS']}"
    browser = Browser(app, "cs_admin")
    good = _filled(browser.get(hub + "/workbook.xlsx").data)
    store = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    keys_before = set(store.keys())

    bomb = with_padding(good, megabytes=60)
    assert len(bomb) < 200 * 1024  # 60 MB once inflated
    refused = browser.upload(hub + "/upload", bomb)
    assert refused.status_code == 400
    assert "文件解压后过大，可能不是正常的 Excel 工作簿，已拒收。" in refused.text
    assert "确认保存" not in refused.text
    _nothing_kept(app, database, browser, keys_before)

    not_a_zip = browser.upload(hub + "/upload", b"PK\x03\x04 truncated, not a zip")
    assert not_a_zip.status_code == 400
    assert "这不是 Excel 工作簿（.xlsx）。请上传机器人发给您的评分表。" in not_a_zip.text
    _nothing_kept(app, database, browser, keys_before)

    # the same workbook without the padding is accepted: the padding alone was refused
    accepted = browser.upload(hub + "/upload", good)
    assert accepted.status_code == 200, accepted.text
    assert "确认保存" in accepted.text
