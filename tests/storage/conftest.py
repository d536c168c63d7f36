"""An S3-compatible object store for the tests in this folder: moto's server on a free local
port, reached by boto3 over real HTTP through ``S3_ENDPOINT_URL`` (as MinIO would be).

Here ``settings_overrides`` (and so ``app``, ``runner``, ``serve``…) use a bucket of the test's
own; ``STORAGE_DIR`` stays set, to show that nothing is written there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import free_port
from tests.storage.s3 import REGION, new_bucket, s3_settings


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    """A plain boto3 client, to look at the bucket from outside the bot."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    return new_bucket(s3_client)


@pytest.fixture
def settings_overrides(
    settings_overrides: dict[str, Any], s3_endpoint: str, s3_bucket: str
) -> dict[str, Any]:
    return {**settings_overrides, **s3_settings(s3_endpoint, s3_bucket)}


@pytest.fixture
def empty_s3_installation(
    settings_overrides: dict[str, Any],
    empty_database_url: str,
    s3_endpoint: str,
    s3_client: Any,
) -> dict[str, Any]:
    """Settings for a second, empty installation: its own database and its own bucket."""
    files = s3_settings(s3_endpoint, new_bucket(s3_client), prefix="restored")
    return {**settings_overrides, **files, "DATABASE_URL": empty_database_url}
