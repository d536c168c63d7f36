"""What a person may upload on the in-app upload page (documents WeCom does not pass to apps),
and the link to it. Used by the upload page (``bot.pages.upload``) and by the chat handlers."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from bot.core.models import RecordKind, Role

MB = 1024 * 1024


@dataclass(frozen=True)
class Purpose:
    """One kind of upload: its title, who may upload it, its size limit and the record kind
    an upload registers (None: the file is kept without a record)."""

    title: str
    roles: frozenset[Role]
    max_bytes: int
    record_kind: RecordKind | None = None


PURPOSES: dict[str, Purpose] = {
    "annual_summary": Purpose("年度工作总结", frozenset({Role.MENTOR}), 20 * MB),
    "semester_plan": Purpose(
        "学期工作计划", frozenset({Role.MENTOR}), 20 * MB, RecordKind.SEMESTER_PLAN
    ),
    "monthly_plan": Purpose("月度计划", frozenset({Role.MENTOR}), 20 * MB, RecordKind.MONTHLY_PLAN),
    "monthly_summary": Purpose(
        "月度总结", frozenset({Role.MENTOR}), 20 * MB, RecordKind.MONTHLY_SUMMARY
    ),
}


def purpose_for_kind(kind: str) -> str | None:
    """The purpose whose upload registers a record of ``kind``, if there is one."""
    return next((name for name, p in PURPOSES.items() if p.record_kind == kind), None)


def upload_url(base_url: str, purpose: str) -> str:
    """The upload page for ``purpose`` under the app's public base URL."""
    return f"{base_url}/m/upload?{urlencode({'purpose': purpose})}"
