"""Every kind of problem is reported with sheet, row and reason, and nothing is imported."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest

from bot.roster.import_summary import RosterInvalid
from tests.roster.helpers import do_import, row_of, table_counts
from tests.zipbomb import with_padding


def _errors(runner, path) -> list[str]:
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("名册有") and "未导入任何数据" in lines[0]
    return lines[1:]


def test_every_kind_of_error_is_listed_and_nothing_imported(runner, database, records, workbook):
    expected = []

    def student(number: str, **change):
        row = row_of(records, "students", number=number)
        records["students"][row - 2].update(change)
        return row

    r = student("2022010001", name=None)
    expected.append(f"学生 第{r}行：缺少“姓名”")
    r = student("2022010002", college="CS9")
    expected.append(f"学生 第{r}行：学院代码“CS9”不存在")
    r = student("2023010001", college="LIB")
    expected.append(f"学生 第{r}行：学院代码“LIB”（图书馆）不是学院")
    r = student("2023010002", userid="李梦月")
    expected.append(f"学生 第{r}行：企业微信账号“李梦月”格式不正确")
    r = student("2025010001", grade="二五级")
    expected.append(f"学生 第{r}行：年级“二五级”格式不正确")
    r = student("2022020001", counsellor="99999999")
    expected.append(f"学生 第{r}行：辅导员工号“99999999”不在辅导员表中")
    r = student("2023020001", userid="zhangsan")
    expected.append(f"学生 第{r}行：企业微信账号“zhangsan”已被学生表第")

    records["mentors"].append(dict(records["mentors"][0]))
    expected.append(f"导师 第{len(records['mentors']) + 1}行：工号“19980001”与第2行重复")
    records["mentors"].append({"number": "T-1", "name": "钱多", "userid": "qianduo", "unit": "XX"})
    row = len(records["mentors"]) + 1
    expected.append(f"导师 第{row}行：工号“T-1”格式不正确")
    expected.append(f"导师 第{row}行：所在单位代码“XX”不存在")

    records["units"].append({"code": "CS", "name": "计算机学院", "kind": "学院"})
    expected.append(f"单位 第{len(records['units']) + 1}行：单位代码“CS”与第2行重复")
    records["units"].append({"code": "NEW", "name": "新单位", "kind": "部门", "head": "123"})
    row = len(records["units"]) + 1
    expected.append(f"单位 第{row}行：单位类型“部门”不正确")
    expected.append(f"单位 第{row}行：负责人工号“123”不在导师、辅导员或管理员表中")

    r = row_of(records, "admins", userid="cs_admin")
    records["admins"][r - 2]["unit"] = "SY"
    expected.append(f"管理员 第{r}行：角色“学院管理员”的单位“SY”（书院部）应为学院")
    records["admins"].append(
        {"number": "20120011", "name": "周敏敏", "userid": "cs_admin", "role": "书院部管理员"}
    )
    row = len(records["admins"]) + 1
    expected.append(f"管理员 第{row}行：角色“书院部管理员”需要填写单位代码")
    expected.append(
        f"管理员 第{row}行：工号“20120011”的姓名“周敏敏”与管理员表第{r}行的“周敏”不一致"
    )

    assignments = records["assignments"]
    assignments.append({"mentor": "19980001", "college": "CS", "student": "2024010001"})
    expected.append(
        f"分配 第{len(assignments) + 1}行：学号“2024010001”已在第2行分配，"
        "一名学生一个学年只能有一位导师"
    )
    assignments.append({"mentor": "77777777", "college": "CS", "student": "2026010001"})
    row = len(assignments) + 1
    expected.append(f"分配 第{row}行：导师工号“77777777”不在导师表中")
    expected.append(f"分配 第{row}行：学号“2026010001”不在学生表中")
    r = row_of(records, "assignments", student="2024020001")
    assignments[r - 2]["college"] = None
    expected.append(f"分配 第{r}行：缺少“考核学院代码”")
    r = row_of(records, "assignments", student="2024030001")
    assignments[r - 2]["college"] = "ICE"
    expected.append(f"分配 第{r}行：导师“20030002”的考核学院“ICE”与第")
    expected.append(f"分配 第{r}行：学生“2024030001”属于学院“DE”，与考核学院“ICE”不一致")
    r = row_of(records, "assignments", student="2023020001")
    assignments[r - 2]["mentor"] = "19980001"
    expected.append(f"分配 第{r}行：导师“19980001”的考核学院“ICE”与第2行的“CS”不一致")
    expected.append(
        f"分配 第{r}行：导师“19980001”所在单位就是考核学院“ICE”，异科导师应由其他学院考核"
    )

    calendar = records["calendar"]
    calendar[0]["holidays"] = "4,25"
    expected.append("校历 第2行：非教学周“25”超出本学期的周数（共19周）")
    calendar[1]["ends"] = "2026-02-30"
    expected.append("校历 第3行：结束日期“2026-02-30”不是有效日期")
    calendar.append(
        {
            "year": "2026-2027",
            "semester": "1",
            "starts": date(2026, 9, 30),
            "ends": date(2026, 9, 7),
        }
    )
    expected.append("校历 第4行：开始日期应早于结束日期")
    calendar.append({"year": "2026-2028", "semester": "3", "starts": "2026-09-07"})
    expected.append("校历 第5行：学年“2026-2028”格式不正确")
    expected.append("校历 第5行：学期“3”不正确（应为 1 或 2）")
    expected.append("校历 第5行：缺少“结束日期”")
    calendar.append(
        {"year": "2027-2028", "semester": "1", "starts": "2027-08-30", "ends": "2028-01-14"}
    )
    expected.append("校历 第6行：日期不在 2027-2028 学年（2027-09-01 至 2028-08-31）内")

    errors = _errors(runner, workbook(records))
    for wanted in expected:
        assert any(line.startswith(wanted) for line in errors), (wanted, errors)
    # one line per error, each naming sheet and row
    assert all(" 第" in line and "行：" in line for line in errors), errors
    assert table_counts(database)["person"] == 0
    assert table_counts(database)["unit"] == 0


def test_missing_sheet_and_missing_column(runner, database, records, workbook, tmp_path):
    path = workbook(records)
    book = openpyxl.load_workbook(path)
    del book["导师"]
    book["学生"].delete_cols(3)  # 企业微信账号
    book.save(path)
    errors = _errors(runner, path)
    assert "缺少工作表“导师”" in errors
    assert "学生 第1行：缺少列“企业微信账号”" in errors
    assert table_counts(database)["person"] == 0


def test_unreadable_file(runner, database, tmp_path):
    path = tmp_path / "not.xlsx"
    path.write_text("这不是工作簿", encoding="utf-8")
    errors = _errors(runner, path)
    assert errors == ["无法读取文件 not.xlsx：这不是 Excel 工作簿（.xlsx）。"]


def test_a_zip_bomb_is_refused_before_it_is_inflated(runner, database, records, workbook):
    path = workbook(records)
    path.write_bytes(with_padding(path.read_bytes(), megabytes=40))
    assert path.stat().st_size < 100 * 1024
    errors = _errors(runner, path)
    assert errors == [
        "无法读取文件 roster.xlsx：文件解压后过大，可能不是正常的 Excel 工作簿，已拒收。"
    ]
    assert table_counts(database)["person"] == 0


def test_staff_and_student_numbers_must_not_collide(database, records):
    records["counsellors"][0]["number"] = "2024010001"  # zhangsan's student number
    with pytest.raises(RosterInvalid) as raised:
        do_import(database, records)
    messages = [str(issue) for issue in raised.value.issues]
    assert "学生 第6行：编号“2024010001”与辅导员表第2行的工号相同" in messages


def test_conflicts_with_the_database_are_reported(database, records):
    do_import(database, records)
    # a later file without zhangsan, giving his userid to someone else
    row = row_of(records, "students", userid="zhangsan")
    del records["students"][row - 2]
    records["assignments"] = [a for a in records["assignments"] if a["student"] != "2024010001"]
    other = 2  # the first student
    records["students"][other - 2]["userid"] = "zhangsan"
    with pytest.raises(RosterInvalid) as raised:
        do_import(database, records)
    assert [str(issue) for issue in raised.value.issues] == [
        f"学生 第{other}行：企业微信账号“zhangsan”已被系统中的张三（编号 2024010001）使用"
    ]


def test_number_cells_typed_as_numbers_are_read(database, records, workbook):
    from bot.roster.validate import validate
    from bot.roster.workbook import read_workbook

    for row in records["students"]:
        row["number"] = int(row["number"])
        row["grade"] = int(row["grade"])
    path = workbook(records)
    roster, issues = validate(read_workbook(path))
    assert issues == []
    assert "2024010001" in roster.people


def test_userids_differing_only_in_case_are_refused(database, records):
    """WeCom ids are case-insensitive: ZhangSan and zhangsan are one account, in the file and
    against the database."""
    zhangsan = row_of(records, "students", userid="zhangsan")
    other = 2  # the first student
    records["students"][other - 2]["userid"] = "ZhangSan"
    with pytest.raises(RosterInvalid) as raised:
        do_import(database, records)
    [issue] = [str(issue) for issue in raised.value.issues]
    first, second = sorted([other, zhangsan])
    assert issue.startswith(f"学生 第{second}行：企业微信账号")
    assert f"已被学生表第{first}行" in issue

    records["students"][other - 2]["userid"] = "xiaoming2022"
    do_import(database, records)
    row = row_of(records, "students", userid="zhangsan")
    del records["students"][row - 2]
    records["assignments"] = [a for a in records["assignments"] if a["student"] != "2024010001"]
    records["students"][other - 2]["userid"] = "ZHANGSAN"
    with pytest.raises(RosterInvalid) as raised:
        do_import(database, records)
    assert [str(issue) for issue in raised.value.issues] == [
        f"学生 第{other}行：企业微信账号“ZHANGSAN”已被系统中的张三（编号 2024010001）使用"
    ]
