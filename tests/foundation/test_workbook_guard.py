"""The archive check every workbook reader runs before openpyxl: sizes, ratio, part count,
and files that are not zip archives; real workbooks of realistic size pass."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from decimal import Decimal

import pytest

from bot.core.workbooks import (
    NOT_A_WORKBOOK,
    ROSTER_WORKBOOK,
    SCORING_WORKBOOK,
    TOO_LARGE,
    TOO_MANY_PARTS,
    Limits,
    archive_problem,
)
from bot.cycle import workbook
from bot.roster.generate import generate_roster
from bot.roster.workbook import write_workbook
from tests.zipbomb import with_padding

SMALL = Limits(member_bytes=1000, total_bytes=1500, members=4)


def _zip(parts: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_the_largest_realistic_workbooks_pass(tmp_path):
    items = [workbook.ItemColumn(f"A{i}", "项目", Decimal(10)) for i in range(1, 9)]
    rows = [
        workbook.MentorRow(
            str(100000 + n),
            "王建国",
            "计算机与物联网学院",
            self_scores={item.id: Decimal(5) for item in items},
            figures={item.id: "交流 12 次，活动 3 次" for item in items},
            suggested={item.id: Decimal(6) for item in items},
            summary_url=f"https://bot.example/m/files/{n}",
        )
        for n in range(2000)
    ]
    scoring = workbook.build("全校评分表", items, rows)
    assert archive_problem(scoring, SCORING_WORKBOOK) is None
    roster = tmp_path / "名册.xlsx"
    write_workbook(roster, generate_roster(students=5000, mentors=300, seed=1, year="2025-2026"))
    assert archive_problem(roster, ROSTER_WORKBOOK) is None
    assert archive_problem(str(roster), ROSTER_WORKBOOK) is None


@pytest.mark.parametrize("limits", [SCORING_WORKBOOK, ROSTER_WORKBOOK])
def test_a_part_of_deflated_zeros_is_refused(limits):
    bomb = with_padding(workbook.build("评分表", [], []), megabytes=20)
    assert len(bomb) < 50 * 1024
    assert archive_problem(bomb, limits) == TOO_LARGE


def test_each_part_and_all_parts_together_are_capped():
    assert archive_problem(_zip({"a": b"x" * 1000}), SMALL) is None
    assert archive_problem(_zip({"a": b"x" * 1001}), SMALL) == TOO_LARGE
    assert archive_problem(_zip({"a": b"x" * 750, "b": b"y" * 750}), SMALL) is None
    assert archive_problem(_zip({"a": b"x" * 750, "b": b"y" * 751}), SMALL) == TOO_LARGE


def test_the_ratio_is_capped_for_parts_past_100_kb():
    roomy = Limits(member_bytes=10**9, total_bytes=10**9)
    deflated = zipfile.ZIP_DEFLATED
    assert archive_problem(_zip({"small": bytes(100 * 1024)}, deflated), roomy) is None
    assert archive_problem(_zip({"zeros": bytes(200 * 1024)}, deflated), roomy) == TOO_LARGE
    noise = os.urandom(200 * 1024)  # does not deflate
    assert archive_problem(_zip({"noise": noise}, deflated), roomy) is None
    text = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n) for n in range(9999))
    assert len(text) > 100 * 1024
    assert archive_problem(_zip({"sheet.xml": text}, deflated), roomy) is None


def test_the_number_of_parts_is_capped():
    assert archive_problem(_zip({str(n): b"" for n in range(4)}), SMALL) is None
    assert archive_problem(_zip({str(n): b"" for n in range(5)}), SMALL) == TOO_MANY_PARTS


@pytest.mark.parametrize(
    "content", [b"", b"%PDF-1.4 nope", "这不是工作簿".encode(), b"PK\x03\x04 truncated"]
)
def test_what_is_not_a_zip_archive_is_named(content, tmp_path):
    assert archive_problem(content, SCORING_WORKBOOK) == NOT_A_WORKBOOK
    path = tmp_path / "名册.xlsx"
    path.write_bytes(content)
    assert archive_problem(path, ROSTER_WORKBOOK) == NOT_A_WORKBOOK
    assert archive_problem(tmp_path / "missing.xlsx", ROSTER_WORKBOOK) == NOT_A_WORKBOOK


def test_a_part_that_understates_its_size_cannot_be_read_past_it():
    """The guard trusts the directory's sizes: zipfile stops at the declared size and fails
    the checksum, so a bomb cannot pass by declaring a small part."""
    content = bytearray(_zip({"sheet.xml": bytes(4 * 1024 * 1024)}, zipfile.ZIP_DEFLATED))
    directory = content.index(b"PK\x01\x02")
    content[directory + 24 : directory + 28] = struct.pack("<I", 500)  # uncompressed size
    lying = bytes(content)
    assert archive_problem(lying, SMALL) is None
    with (
        zipfile.ZipFile(io.BytesIO(lying)) as archive,
        pytest.raises(zipfile.BadZipFile, match="CRC"),
    ):
        archive.read("sheet.xml")
