"""What a workbook people hand us must look like before openpyxl opens it.

An .xlsx is a zip archive; openpyxl inflates its parts, and a small file can inflate to
gigabytes (a "zip bomb": a 1 MB upload whose sheet is 1 GB of repeated bytes). The archive's
directory says each part's size before anything is inflated, and Python's ``zipfile`` (which
openpyxl reads through) never yields more than that declared size (a part that lies fails its
checksum), so checking the directory bounds what opening the workbook can cost.

Every workbook reader (the college scoring upload, the roster import) calls
:func:`archive_problem` first. The limits are data, one :class:`Limits` per reader.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024

# A workbook has some 15 parts (sheets, styles, shared strings, properties); pictures and
# many sheets add a few hundred at most.
MAX_MEMBERS = 1000
# Sheet XML deflates 5–15×, a sheet's hyperlink list ~50× (measured on our workbooks); a
# bomb's part ~1000×. Apache POI refuses parts past 100× too, once they exceed 100 KB (small
# parts such as an empty sheet may deflate further without costing anything).
MAX_RATIO = 100
RATIO_FROM_BYTES = 100 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps on a workbook archive's parts, uncompressed."""

    member_bytes: int
    total_bytes: int
    members: int = MAX_MEMBERS
    ratio: int = MAX_RATIO


# A college's scoring workbook, which openpyxl loads whole (~8 bytes of memory per byte of
# sheet XML): the academy office's sheet of 2,000 mentors is 3.3 MB of XML (28 MB loaded).
SCORING_WORKBOOK = Limits(member_bytes=16 * MiB, total_bytes=32 * MiB)
# A roster (read streaming, row by row): 40,000 students and 2,000 mentors are ~25 MB of XML,
# the largest sheet ~17 MB; a few thousand people ~2 MB.
ROSTER_WORKBOOK = Limits(member_bytes=128 * MiB, total_bytes=256 * MiB)

NOT_A_WORKBOOK = "这不是 Excel 工作簿（.xlsx）。"
TOO_LARGE = "文件解压后过大，可能不是正常的 Excel 工作簿，已拒收。"
TOO_MANY_PARTS = "文件包含的部件过多，可能不是正常的 Excel 工作簿，已拒收。"


def archive_problem(source: bytes | str | Path, limits: Limits) -> str | None:
    """Why the workbook ``source`` (its bytes or its path) must not be opened, in Chinese, or
    None when its archive is within ``limits``."""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            parts = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return NOT_A_WORKBOOK
    if len(parts) > limits.members:
        return TOO_MANY_PARTS
    total = 0
    for part in parts:
        total += part.file_size
        if part.file_size > limits.member_bytes or total > limits.total_bytes:
            return TOO_LARGE
        if part.file_size > RATIO_FROM_BYTES and part.file_size > limits.ratio * max(
            part.compress_size, 1
        ):
            return TOO_LARGE
    return None
