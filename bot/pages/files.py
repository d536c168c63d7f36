"""File downloads from the in-app pages: an attachment with its Chinese name, never cached."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(name: str, content: bytes) -> Response:
    """A workbook download named ``name`` (RFC 5987, so Chinese names survive), ``no-store``."""
    response = Response(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response.headers["Cache-Control"] = "no-store"
    return response
