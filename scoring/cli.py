"""Command line for the office:

    python -m scoring evaluate FILE.json [--rubric FILE]
    python -m scoring rubric check FILE

Invalid input or rubric: exit status 2, nothing on stdout, one line per problem on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from scoring.engine import InputError, evaluate
from scoring.evidence import PER_NAMES, Per
from scoring.jsonio import dumps, parse_input
from scoring.numbers import fmt
from scoring.rubric import Rubric, RubricError, load_rubric

INVALID = 2
INTERNAL = 1

OBSERVERS = {"college": "二级学院", "academy": "书院部", "system": "系统（学生评价）"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring", description="全生异科导师年度考核计分 (mentor assessment scoring)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate_parser = commands.add_parser("evaluate", help="计算年度考核结果 (evaluate a year)")
    evaluate_parser.add_argument("file", help="输入 JSON 文件（- 为标准输入）")
    evaluate_parser.add_argument("--rubric", help="考核方案 TOML 文件（默认 2021 试行方案）")
    rubric_parser = commands.add_parser("rubric", help="考核方案 (rubric)")
    rubric_commands = rubric_parser.add_subparsers(dest="rubric_command", required=True)
    check_parser = rubric_commands.add_parser("check", help="校验考核方案并打印 (validate)")
    check_parser.add_argument("file", help="考核方案 TOML 文件")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "evaluate":
            return _evaluate(args.file, args.rubric)
        return _check(args.file)
    except (RubricError, InputError) as exc:
        _problems(exc.problems)
        return INVALID
    except Exception as exc:  # the office never sees a traceback
        print(f"内部错误 (internal error): {type(exc).__name__}: {exc}", file=sys.stderr)
        return INTERNAL


def _problems(problems: Sequence[str]) -> None:
    for problem in problems:
        print(problem.replace("\n", " "), file=sys.stderr)


def _evaluate(path: str, rubric_path: str | None) -> int:
    rubric = load_rubric(rubric_path)
    try:
        text = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InputError([f"无法读取输入文件 {path} (cannot read)：{exc.strerror}"]) from None
    output = dumps(evaluate(parse_input(text, rubric), rubric))
    sys.stdout.write(output + "\n")
    return 0


def _check(path: str) -> int:
    rubric = load_rubric(path)
    print_rubric(rubric, sys.stdout)
    return 0


def print_rubric(rubric: Rubric, out: TextIO) -> None:
    """The rubric as a table for people."""
    write = out.write
    write(f"{rubric.name}" + (f"（{rubric.source}）" if rubric.source else "") + "\n")
    write(f"总分 {fmt(rubric.total)}，加分 +{fmt(rubric.bonus.points)}，")
    write(f"最高 {fmt(rubric.maximum)}\n\n")
    write(f"{'编号':<4} {'满分':>4}  {'观测主体':<8} 名称\n")
    for section in rubric.sections:
        write(f"— {section.title}（{section.id}，{fmt(section.total)} 分）\n")
        for item in rubric.items:
            if item.section == section.id:
                observer = OBSERVERS.get(item.observer, item.observer)
                write(f"{item.id:<6} {fmt(item.max):>4}  {observer:<8} {item.title}\n")
    if rubric.groups:
        write("\n汇总：" + "；".join(f"{g.title} {fmt(g.total)}" for g in rubric.groups) + "\n")
    sat = rubric.satisfaction
    levels = "、".join(f"{lv.level} {lv.name}" for lv in sat.levels)
    write(f"\n满意度等级：{levels}；“满意”等级：{', '.join(map(str, sat.positive))}\n")
    write(f"年度满意度保留 {sat.decimals} 位小数（{sat.rounding}）；分档：\n")
    for band in sat.bands:
        low, high = (f"{bound:.{sat.decimals}f}" for bound in (band.min, band.max))
        write(f"  {low}–{high} → {fmt(band.points)} 分\n")
    write(f"  全年无评价 → {fmt(sat.no_ratings_points)} 分，标记 no_ratings\n")
    write(f"匿名阈值：单项活动至少 {sat.anonymity_threshold} 条评价才向导师展示汇总\n")
    bonus = "、".join(item.id for item in rubric.bonus_items)
    write(f"加分：{bonus} 任一达成加 {fmt(rubric.bonus.points)} 分（仅一次）\n")
    rule = rubric.outstanding
    write(
        f"优秀导师：各学院前 {fmt(rule.share * 100)}%，名额 = max({rule.minimum}, "
        f"round_{rule.rounding}(n × {fmt(rule.share)}))，与名额内最低总分并列者一并入选并标记\n"
    )
    if rubric.evidence:
        write("\n台账依据（建议分 = 满分 × 完成度，按 0.5 四舍五入）：\n")
        for item_id, requirements in rubric.evidence.items():
            for req in requirements:
                kinds = ", ".join(str(kind) for kind in req.kinds)
                per = PER_NAMES[Per(req.per)].lstrip("个")
                credit = "达标计" if req.credit == "met" else "按比例计"
                write(f"  {item_id:<4} {req.label}：每{per} {req.target} 条 [{kinds}]，{credit}\n")
        records = rubric.records
        if records.offline_only:
            write(f"  标记为线上的记录不计入：{'、'.join(records.offline_only)}\n")
        if records.topics:
            topics = sorted({i for items in records.topics.values() for i in items})
            count = len(records.topics)
            write(f"  个别交流内容含话题词（共 {count} 个）时另计入：{'、'.join(topics)}\n")
        periods = rubric.periods
        if periods.week_teaching_days or periods.month_teaching_days:
            write(
                f"  教学周至少 {periods.week_teaching_days} 个教学日、月份至少 "
                f"{periods.month_teaching_days} 个教学日才计入（节假日按国家安排，含调休）\n"
            )
    write("\n考核方案有效 (rubric OK)\n")
