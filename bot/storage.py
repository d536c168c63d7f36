"""Stored files (photos, plans, summaries, workbooks) under STORAGE_DIR, named by content."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int


class FileStore:
    """A local directory; keys are relative paths ``YYYY/MM/<sha256><suffix>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, content: bytes, suffix: str, now: datetime) -> StoredFile:
        digest = hashlib.sha256(content).hexdigest()
        key = f"{now:%Y/%m}/{digest}{suffix.lower()}"
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
                handle.write(content)
                temporary = Path(handle.name)
            os.replace(temporary, target)
        return StoredFile(key=key, sha256=digest, size=len(content))

    def path(self, key: str) -> Path:
        resolved = (self.root / key).resolve()
        if self.root.resolve() not in resolved.parents:
            raise ValueError("key outside the store")
        return resolved

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
