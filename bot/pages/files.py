"""File downloads from the in-app pages: every stored or built file goes out through
``download_response``: an attachment with its Chinese name, never cached, never sniffed."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from bot.core.filenames import CONTENT_TYPES, clean_filename, content_type_of

XLSX = CONTENT_TYPES[".xlsx"]


def download_response(name: str, content: bytes, content_type: str | None = None) -> Response:
    """``content`` as a download named ``name``: ``Content-Disposition: attachment`` with an
    ASCII fallback and the UTF-8 name (RFC 5987, so Chinese names survive), ``no-store``
    and ``nosniff``. The type is ``content_type`` if given (files the app builds), else the
    fixed type of the name's extension, never what an uploader claimed."""
    name = clean_filename(name)
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    fallback = (_ascii(stem) or "download") + (f".{_ascii(extension)}" if dot else "")
    response = Response(content, mimetype=content_type or content_type_of(name))
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _ascii(text: str) -> str:
    """``text`` without what a quoted ASCII header value cannot hold."""
    kept = text.encode("ascii", "ignore").decode()
    return "".join(c for c in kept if c.isprintable() and c not in '"\\').strip(" .")


def xlsx_response(name: str, content: bytes) -> Response:
    """A workbook the app built, as a download named ``name``."""
    return download_response(name, content, XLSX)
