"""Helpers for the object-store tests (the fixtures are in conftest.py beside this file)."""

from __future__ import annotations

import uuid
from typing import Any

REGION = "us-east-1"


def new_bucket(s3_client: Any) -> str:
    name = f"mentor-bot-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def s3_settings(endpoint: str, bucket: str, prefix: str = "mentor-bot") -> dict[str, Any]:
    return {
        "STORAGE_URL": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": REGION,
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_ADDRESSING_STYLE": "path",
    }


def object_names(s3_client: Any, bucket: str) -> list[str]:
    listing = s3_client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))
