"""Settings from the environment (and an optional `.env`), validated once at start.

A missing or malformed value stops the app with one line naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
_S3_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[A-Za-z0-9._/-]*)?")


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Every setting the processes read. Field names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    DATABASE_URL: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file under instance/"
    )
    REDIS_URL: str = Field(
        default="memory://", description="redis://… or memory:// for the in-process Redis"
    )
    REDIS_PREFIX: str = Field(default="mentorbot:", description="prefix of every Redis key")
    WECOM_CORP_ID: str = Field(description="企业ID (CorpID)")
    WECOM_AGENT_ID: int = Field(description="自建应用 AgentId")
    WECOM_SECRET: str = Field(description="自建应用 Secret")
    WECOM_TOKEN: str = Field(description="回调 Token")
    WECOM_AES_KEY: str = Field(description="回调 EncodingAESKey (43 characters)")
    WECOM_API_BASE: str = Field(default=DEFAULT_API_BASE, description="WeCom API origin")
    WECOM_OAUTH_BASE: str = Field(
        default="https://open.weixin.qq.com", description="origin of WeCom's OAuth authorize page"
    )
    TIMEZONE: str = Field(default="Asia/Shanghai")
    STORAGE_DIR: str | None = Field(
        default=None, description="uploaded files; default: instance/storage"
    )
    STORAGE_URL: str | None = Field(
        default=None,
        description="s3://bucket[/prefix]: keep files in an S3-compatible object store instead",
    )
    S3_ENDPOINT_URL: str | None = Field(
        default=None, description="the object store's URL (MinIO, Ceph, OSS…); unset: AWS S3"
    )
    S3_REGION: str | None = Field(default=None, description="the bucket's region")
    S3_ACCESS_KEY_ID: str | None = Field(
        default=None, description="access key; unset: the standard AWS credential chain"
    )
    S3_SECRET_ACCESS_KEY: SecretStr | None = Field(
        default=None, description="secret key belonging to S3_ACCESS_KEY_ID"
    )
    S3_ADDRESSING_STYLE: Literal["auto", "path", "virtual"] = Field(
        default="auto", description="path (MinIO, Ceph) or virtual (Aliyun OSS) bucket URLs"
    )
    SECRET_KEY: str = Field(description="signs the in-app page session cookie")
    CARE_NOTES_KEY: str = Field(
        description="encrypts care notes at rest: a Fernet key (44 characters, url-safe base64)"
    )
    PUBLIC_BASE_URL: str = Field(
        default="http://127.0.0.1:8000", description="how phones reach this app (links in cards)"
    )
    SIMULATOR: bool = Field(
        default=False, description="serve the local WeCom simulator (demo and tests only)"
    )
    SIMULATOR_OUTSIDE_RANGE: str = Field(
        default="",
        description="simulator only: userids the app's visible range (可见范围) leaves out"
        " (comma-separated); sends to them fail as on WeCom (invaliduser, 81013)",
    )
    SIMULATOR_TRUSTED_IPS: str = Field(
        default="",
        description="simulator only: the app's 企业可信IP (comma-separated addresses or networks);"
        " a call from any other address gets 60020 as on WeCom; empty: any",
    )
    RETENTION_YEARS: int = Field(
        default=3, ge=1, description="academic years personal data is kept after a cycle closes"
    )
    OUTBOX_KEEP_DAYS: int = Field(
        default=90,
        ge=35,
        description="days a finished outbox message (sent, failed, dead) is kept after its last"
        " attempt; at least 35, longer than any reminder period its key guards",
    )
    TRUSTED_PROXIES: int = Field(
        default=0,
        ge=0,
        description="reverse proxies in front (1 behind nginx): trust X-Forwarded-*",
    )
    METRICS_ALLOW: str = Field(
        default="127.0.0.1,::1", description="addresses or networks that may read /metrics"
    )
    LOG_FORMAT: Literal["json", "console"] = Field(
        default="json", description="json lines (production) or console (readable)"
    )
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    SCHEDULE_FILE: str | None = Field(
        default=None, description="TOML merged over scheduler/schedule.toml (jobs, quiet hours)"
    )
    SCHEDULER_LOCK_SECONDS: int = Field(
        default=30, ge=2, description="lease of the single scheduler process's Redis lock"
    )
    SUPPORT_CONTACT: str = Field(
        default="书院部（全生异科导师工作领导小组办公室）",
        description="whom people not on the roster should contact",
    )

    RATING_WINDOW_DAYS: int = Field(
        default=7, ge=1, le=60, description="days a rating card can be answered"
    )
    RATING_WEEKLY_CAP: int = Field(
        default=3, ge=1, le=20, description="rating cards a student receives at most per week"
    )
    RATING_REMINDER_DAYS: int = Field(
        default=2, ge=1, le=30, description="days after a rating card before one reminder"
    )
    RATING_MONTHLY_CARDS: bool = Field(
        default=True, description="send monthly guidance rating cards to contacted students"
    )
    RATING_DENY_FLAG: int = Field(
        default=2, ge=1, description="我没参加 answers that flag a record for the college"
    )
    RATING_ACTIVITY_HOURS: int = Field(
        default=2, ge=1, le=48, description="assumed length of an activity without an end time"
    )
    RATING_CHANNEL: Literal["card", "page"] = Field(
        default="card",
        description="card: a rating card (a textcard linking /m/rate/… for the roster's WeChat-"
        "plugin users); page: the textcard for everyone",
    )

    @field_validator("WECOM_AES_KEY")
    @classmethod
    def _aes_key_is_43_base64(cls, value: str) -> str:
        if len(value) != 43:
            raise ValueError(f"must be 43 characters, got {len(value)}")
        try:
            key = base64.b64decode(value + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("is not base64") from exc
        if len(key) != 32:
            raise ValueError("must decode to 32 bytes")
        return value

    @field_validator("CARE_NOTES_KEY")
    @classmethod
    def _fernet_key(cls, value: str) -> str:
        try:
            key = base64.urlsafe_b64decode(value.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise ValueError("is not url-safe base64") from exc
        if len(key) != 32:
            raise ValueError("must decode to 32 bytes (generate one with Fernet.generate_key())")
        return value

    @field_validator("WECOM_API_BASE", "WECOM_OAUTH_BASE", "PUBLIC_BASE_URL", "S3_ENDPOINT_URL")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator(
        "STORAGE_URL",
        "S3_ENDPOINT_URL",
        "S3_REGION",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("STORAGE_URL")
    @classmethod
    def _storage_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        match = _S3_URL.fullmatch(value)
        if match is None:
            raise ValueError(
                "must be s3://bucket or s3://bucket/prefix (bucket: 3-63 lowercase letters, "
                "digits, dots or hyphens; prefix: letters, digits, . _ - and /)"
            )
        if any(part.startswith(".") for part in (match.group(2) or "").split("/") if part):
            raise ValueError("prefix must not contain . or .. parts")
        return value

    @model_validator(mode="after")
    def _s3_keys_together(self) -> Self:
        if (self.S3_ACCESS_KEY_ID is None) != (self.S3_SECRET_ACCESS_KEY is None):
            raise ValueError(
                "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together "
                "(or neither: the standard AWS credential chain)"
            )
        return self

    @field_validator("TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a known IANA time zone") from exc
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not re.fullmatch(r"(memory://.*|rediss?://\S+|unix://\S+)", value):
            raise ValueError("must start with redis://, rediss://, unix:// or memory://")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(sqlite|postgresql)(\+\w+)?://.*", value):
            raise ValueError("must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)

    def database_url(self, instance_path: str | Path) -> str:
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite:///{Path(instance_path) / 'mentor-bot.sqlite3'}"

    def storage_dir(self, instance_path: str | Path) -> Path:
        """The local file store's directory (used when STORAGE_URL is unset)."""
        return Path(self.STORAGE_DIR) if self.STORAGE_DIR else Path(instance_path) / "storage"

    def s3_location(self) -> tuple[str, str] | None:
        """(bucket, prefix) of STORAGE_URL, or None for the local directory."""
        if not self.STORAGE_URL:
            return None
        match = _S3_URL.fullmatch(self.STORAGE_URL)
        assert match is not None  # validated above
        return match.group(1), (match.group(2) or "").strip("/")


def load_settings(
    overrides: dict[str, Any] | None = None, *, env_file: str | None = ".env"
) -> Settings:
    """Validate the environment plus `overrides`; raise SettingsError with one line."""
    try:
        return Settings(_env_file=env_file, **(overrides or {}))
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            problems.append(f"{name} is not set")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name} {message}" if name else message)
    return "配置错误 (configuration error): " + "; ".join(problems)
