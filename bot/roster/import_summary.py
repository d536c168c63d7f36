"""What a roster import reports: :class:`ImportSummary` counts, per sheet, the rows added,
updated and unchanged and the roles, links and assignments it removed (its ``lines`` are the
Chinese text the office reads), and :class:`RosterInvalid` carries every problem when nothing
was imported. The writers (:mod:`bot.roster.write_people`, :mod:`bot.roster.write_year`) fill
the summary in; a second import of the same file counts no change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.roster.columns import SHEETS
from bot.roster.workbook import RosterIssue

ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"


class RosterInvalid(Exception):
    """The roster has problems; nothing was imported. ``issues`` lists every one."""

    def __init__(self, issues: Sequence[RosterIssue]) -> None:
        listed = "".join(f"\n{issue}" for issue in issues[:50])  # a traceback shows the rows
        more = f"\n……另有 {len(issues) - 50} 处" if len(issues) > 50 else ""
        super().__init__(f"名册有 {len(issues)} 处错误：{listed}{more}")
        self.issues = list(issues)


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, status: str, n: int = 1) -> None:
        setattr(self, status, getattr(self, status) + n)


@dataclass
class ImportSummary:
    year: str
    sheets: dict[str, Counts] = field(default_factory=lambda: {s.key: Counts() for s in SHEETS})
    deactivated: int = 0
    roles_added: int = 0
    roles_removed: int = 0
    links_removed: int = 0
    assignments_removed: int = 0
    assignments_kept: int = 0
    assignments_untouched: bool = False

    @property
    def changes(self) -> int:
        """How many things changed; 0 when the same file is imported again."""
        return (
            sum(counts.added + counts.updated for counts in self.sheets.values())
            + self.deactivated
            + self.roles_removed
            + self.links_removed
            + self.assignments_removed
        )

    def lines(self) -> list[str]:
        lines = [f"名册导入完成（学年 {self.year}）："]
        for sheet in SHEETS:
            counts = self.sheets[sheet.key]
            lines.append(
                f"  {sheet.title}：新增 {counts.added}，更新 {counts.updated}，"
                f"未变 {counts.unchanged}"
            )
        lines.append(f"  角色：授予 {self.roles_added}，撤销 {self.roles_removed}")
        lines.append(f"  不在本名册中、已停用：{self.deactivated} 人")
        if self.assignments_untouched:
            lines.append("  分配表为空：本学年的分配未改动")
        else:
            lines.append(
                f"  移出分配的学生：{self.links_removed} 名；"
                f"移除的导师分配：{self.assignments_removed} 个"
                + (
                    f"（另有 {self.assignments_kept} 位已有工作记录的导师保留分配）"
                    if self.assignments_kept
                    else ""
                )
            )
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())
