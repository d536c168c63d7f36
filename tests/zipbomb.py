"""A zip bomb inside an otherwise valid workbook, built in the test and small on disk."""

from __future__ import annotations

import io
import zipfile

MiB = 1024 * 1024


def with_padding(workbook: bytes, megabytes: int, *, name: str = "xl/media/padding.bin") -> bytes:
    """``workbook`` with one more part of ``megabytes`` MB of zeros, deflated (~1 KB per MB).
    openpyxl ignores a part nothing refers to, so without a guard the workbook opens as
    before, after inflating the part."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            target.writestr(part, source.read(part.filename))
        with target.open(name, "w") as stream:
            zeros = bytes(MiB)
            for _ in range(megabytes):
                stream.write(zeros)
    return out.getvalue()
