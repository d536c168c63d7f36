"""Names and types of uploaded files: what is stored and sent back is derived here, never
taken from the uploader.

``clean_filename`` makes a name safe to store and show (no control or format characters such
as NUL or a right-to-left override, no folders, bounded length with the extension kept);
``content_type_of`` gives the fixed MIME type of a checked extension.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

MAX_FILENAME = 100  # characters; the column holds 255
FALLBACK_STEM = "文件"

# the extensions the app stores → the type it is served as; anything else is a download
CONTENT_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
UNKNOWN_TYPE = "application/octet-stream"

# Cc: control characters (NUL, newlines…); Cf: format characters (bidi overrides, zero
# width); Zl/Zp: line and paragraph separators; Cs: lone surrogates; Co/Cn: private, unassigned
_DROPPED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def clean_filename(name: str, limit: int = MAX_FILENAME) -> str:
    """``name`` as the uploader's last path part, without control or format characters and
    outer spaces or dots, at most ``limit`` characters keeping its extension; "文件" plus the
    extension if nothing is left."""
    kept = "".join(c for c in name if unicodedata.category(c) not in _DROPPED)
    last = kept.replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem, dot, extension = last.rpartition(".")
    if dot and 0 < len(extension) <= 16 and extension.isalnum():
        suffix = "." + extension
    else:
        stem, suffix = last, ""
    stem = stem.strip(" .") or FALLBACK_STEM
    room = max(1, limit - len(suffix))
    return stem[:room].rstrip(" .") + suffix


def content_type_of(name: str) -> str:
    """The MIME type of ``name``'s extension from the fixed map (else a plain download)."""
    return CONTENT_TYPES.get(PurePosixPath(name).suffix.lower(), UNKNOWN_TYPE)
