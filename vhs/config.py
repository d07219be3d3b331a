"""Typed settings from ``VHS_*`` environment variables, validated at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SECRET_KEY = "dev-insecure-change-me"
DEFAULT_TIMEZONE = "Europe/Berlin"
# `flask run` serves here unless FLASK_RUN_HOST / FLASK_RUN_PORT (make run's HOST, PORT) say otherwise.
DEFAULT_RUN_HOST, DEFAULT_RUN_PORT = "127.0.0.1", 5000
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The configuration is unsafe or inconsistent; the message says what to set."""


def _parse_bool(value: str) -> bool:
    """Read the usual spellings of yes/no from the environment."""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def parse_zone(name: str) -> ZoneInfo:
    """An IANA time zone by its name (``Europe/Vienna``); ValueError for an unknown one."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a name that is a directory of the zone database, such as "Europe/".
        raise ValueError(f"unknown time zone {name!r}") from exc


def served_base_url(environ: Mapping[str, str]) -> str:
    """``http://host:port`` of a local ``flask run`` (FLASK_RUN_HOST / FLASK_RUN_PORT).

    A server listening on every interface (``0.0.0.0``, ``::``) is named by loopback: the
    machine knows no address that others are sure to reach; VHS_PUBLIC_BASE_URL names that.
    """
    host = (environ.get("FLASK_RUN_HOST") or DEFAULT_RUN_HOST).strip()
    raw_port = (environ.get("FLASK_RUN_PORT") or str(DEFAULT_RUN_PORT)).strip()
    try:
        port = int(raw_port)
    except ValueError as exc:
        raise ConfigError(f"FLASK_RUN_PORT must be a port number: {raw_port!r}") from exc
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 (recognises the wildcard, binds nothing)
        host = DEFAULT_RUN_HOST
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


@dataclass
class Settings:
    """Every setting the platform reads, with the embedded defaults.

    Each field ``foo_bar`` is read from ``VHS_FOO_BAR`` (``extra`` only from code).  Defaults
    need nothing installed: SQLite in ``instance/``, mail to the log, manual payments, public
    Jitsi. README.md's configuration table lists exactly these variables (a test holds it so).
    """

    env: str = "development"
    secret_key: str = DEFAULT_SECRET_KEY
    database_url: str = ""
    # Unset: the address `flask run` serves on (see ``served_base_url``), for local use only.
    public_base_url: str = f"http://{DEFAULT_RUN_HOST}:{DEFAULT_RUN_PORT}"
    mail_url: str = ""
    mail_from: str = "VHS Iserlohn <noreply@vhs.example>"
    mail_max_attempts: int = 8
    redis_url: str = ""
    celery_broker_url: str = ""
    ratelimit_storage_url: str = ""
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    payment_hold_minutes: int = 30
    manual_payment_hold_days: int = 7
    cancellation_fee_cents: int = 0
    jitsi_domain: str = "meet.jit.si"
    jitsi_app_id: str = ""
    jitsi_app_secret: str = ""
    jitsi_open_minutes: int = 15
    jitsi_grace_minutes: int = 15
    jitsi_webhook_secret: str = ""
    # A self-hosted Prosody's event_sync module (attendance) and mod_muc_size (live room size).
    jitsi_event_sync_secret: str = ""
    jitsi_event_sync_auth: str = "bearer"  # "bearer" (Authorization header) or "hmac" (body)
    jitsi_room_size_url: str = ""
    jitsi_room_size_token: bool = False
    jitsi_room_size_timeout_seconds: int = 3
    jaas_app_id: str = ""
    jaas_kid: str = ""
    jaas_private_key_path: str = ""
    jaas_webhook_secret: str = ""
    # JaaS features granted to moderators' tokens, comma-separated (recording, livestreaming,
    # transcription, outbound-call...); everything not listed is switched off.
    jaas_features: str = ""
    # Minutes in the Jitsi room (from its webhooks) that count a session as attended.
    attendance_min_minutes: int = 1
    certificate_min_attendance: int = 80
    certificate_logo_text: str = "vhs"
    org_name: str = "Volkshochschule Iserlohn"
    org_address: str = "Stadtbahnhof, Bahnhofsplatz 2, 58644 Iserlohn"
    org_iban: str = "DE02 4455 0045 0000 1234 56"
    org_bic: str = "WELADE3LXXX"
    # Times are stored in UTC; shown on pages and in mails, and exported, in this zone.
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    default_locale: str = "de"
    session_cookie_secure: bool | None = None
    login_rate_limit: str = "5 per minute"
    calendar_feed_rate_limit: str = "60 per minute"  # per feed token
    lock_timeout_ms: int = 3000
    sqlite_busy_timeout_ms: int = 15000
    # Media files: empty keeps them in ``<instance>/media``; ``file:///srv/vhs-media`` names
    # another directory; ``s3://bucket/prefix`` an S3-compatible object store.
    storage_url: str = ""
    s3_endpoint_url: str = ""  # empty: AWS itself; else MinIO, Ceph, Hetzner, ... over http(s)
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    media_max_file_mb: int = 500
    media_url_ttl_seconds: int = 300  # lifetime of a presigned S3 link to a file
    # Library cards: numbers are this prefix (digits), 10 random digits and a Luhn check digit.
    library_card_prefix: str = "58"
    library_card_valid_months: int = 12  # how long a new or confirmed card is valid
    library_card_fee_cents: int = 0  # the annual fee; 0: cards are free
    # Lending (library/rules.py reads these): the loan period a kind of medium gets when the
    # patron does not choose one, in days; limits per patron; the pick-up window of a hold.
    library_loan_days_ebook: int = 21
    library_loan_days_audiobook: int = 14
    library_loan_days_emagazine: int = 1
    library_loan_days_video: int = 7
    library_loan_days_document: int = 21
    library_max_loans: int = 10
    library_max_holds: int = 5
    library_hold_pickup_hours: int = 48
    # Keep ended loans with their patron (for a "read before" list); off: forgotten at return.
    library_keep_history: bool = False
    # Downloads and streams of a loan's files (library/access): how long a signed link works,
    # in minutes, and the library's name in the watermark of an EPUB.
    library_link_minutes: int = 15
    library_name: str = "Stadtbibliothek Iserlohn"
    # ODL distributors (library/distributors): how long one request to a distributor may take,
    # in seconds; how often its feed is synced, in minutes; and a feed `flask demo seed`
    # connects as a distributor ("": none, the demo lends local licences only).
    library_odl_timeout_seconds: int = 10
    library_odl_sync_minutes: int = 360
    library_demo_distributor_url: str = ""
    # Reading apps (OPDS) send card number and PIN with every request: a pair checked with
    # argon2 passes again without it for this many seconds (0: always the full check).
    opds_pin_cache_seconds: int = 300
    media_import_max_mb: int = 100  # a file of records (MARC, MARCXML, ONIX, CSV) staff upload
    media_import_files_max_mb: int = 2048  # a ZIP of media files that goes with it
    # Without Celery: run an uploaded import in a thread of the web process (else cron only).
    media_import_in_thread: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        """Whether the app runs as a real deployment (strict checks apply)."""
        return self.env == "production"

    @property
    def stripe_enabled(self) -> bool:
        """Stripe is on as soon as a secret key is configured."""
        return bool(self.stripe_secret_key)

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """``VHS_*`` variable -> field name, for every field the environment sets."""
        return {f"VHS_{f.name.upper()}": f.name for f in fields(cls) if f.name != "extra"}

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> Settings:
        """Build settings from ``VHS_*`` variables, converting each to its declared type.

        ``overrides`` (field name -> value, from code: tests, ``create_app(config)``) win over
        the environment; text values are converted and checked the same way.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for variable, name in cls.env_names().items():
            raw = environ.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = cls._convert(name, raw)
        for name, value in (overrides or {}).items():
            values[name] = cls._convert(name, value) if isinstance(value, str) else value
        if "public_base_url" not in values:
            values["public_base_url"] = served_base_url(environ)
        return cls(**values)

    @classmethod
    def _convert(cls, name: str, raw: str) -> Any:
        """``raw`` as the declared type of field ``name``; ConfigError names the variable."""
        kind = get_type_hints(cls)[name]
        try:
            if kind is int:
                return int(raw)
            if kind is bool or kind == (bool | None):
                return _parse_bool(raw)
            if kind is ZoneInfo:
                return parse_zone(raw)
        except ValueError as exc:
            what = "an IANA time zone such as Europe/Berlin" if kind is ZoneInfo else "a number"
            raise ConfigError(f"VHS_{name.upper()} must be {what}: {raw!r}") from exc
        return raw

    def validate(self) -> None:
        """Refuse to start on an unsafe production setup, naming what to set.

        Media storage is checked in every environment: a wrong storage URL would otherwise
        show only at the first upload.
        """
        problems = media_problems(self) + library_problems(self) + jitsi_problems(self)
        if problems:
            raise ConfigError("Refusing to start: " + "; ".join(problems) + ".")
        if not self.production:
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("set VHS_SECRET_KEY to a random value of at least 32 characters")
        if not self.database_url or self.database_url.startswith("sqlite"):
            problems.append("set VHS_DATABASE_URL to a PostgreSQL URL (SQLite is for one machine)")
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            problems.append("set VHS_STRIPE_WEBHOOK_SECRET (Stripe is enabled by its secret key)")
        if not self.public_base_url.startswith("https://"):
            problems.append("set VHS_PUBLIC_BASE_URL to the https:// address residents use")
        if bool(self.jitsi_app_id) != bool(self.jitsi_app_secret):
            problems.append("set both VHS_JITSI_APP_ID and VHS_JITSI_APP_SECRET, or neither")
        elif self.jitsi_app_secret and len(self.jitsi_app_secret) < 32:
            problems.append("set VHS_JITSI_APP_SECRET to at least 32 characters (it signs JWTs)")
        if self.jaas_app_id and not (self.jaas_kid and self.jaas_private_key_path):
            problems.append("set VHS_JAAS_KID and VHS_JAAS_PRIVATE_KEY_PATH (JaaS is enabled)")
        if self.jitsi_event_sync_secret and len(self.jitsi_event_sync_secret) < 32:
            problems.append("set VHS_JITSI_EVENT_SYNC_SECRET to at least 32 characters")
        if problems:
            raise ConfigError(
                "Refusing to start with VHS_ENV=production: " + "; ".join(problems) + "."
            )


def jitsi_problems(settings: Settings) -> list[str]:
    """What is wrong with the self-hosted Jitsi REST settings (checked in every environment)."""
    problems = []
    if settings.jitsi_event_sync_auth not in ("bearer", "hmac"):
        problems.append("set VHS_JITSI_EVENT_SYNC_AUTH to bearer or hmac")
    url = settings.jitsi_room_size_url
    if url and urlsplit(url).scheme not in ("http", "https"):
        problems.append("set VHS_JITSI_ROOM_SIZE_URL to an http:// or https:// address")
    if settings.jitsi_room_size_token and not (settings.jitsi_app_id and settings.jitsi_app_secret):
        problems.append("VHS_JITSI_ROOM_SIZE_TOKEN needs VHS_JITSI_APP_ID and VHS_JITSI_APP_SECRET")
    if not 1 <= settings.jitsi_room_size_timeout_seconds <= 60:
        problems.append("set VHS_JITSI_ROOM_SIZE_TIMEOUT_SECONDS between 1 and 60")
    return problems


# S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending
# with a letter or digit; the prefix is a path of plain segments.
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_PREFIX = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
MEDIA_MAX_FILE_MB_LIMIT = 10 * 1024  # 10 GB: more is no e-medium, and bodies are spooled to disk
PRESIGNED_TTL_LIMIT = 7 * 24 * 3600  # S3 refuses signatures valid for longer than a week


@dataclass(frozen=True)
class StorageLocation:
    """Where media files are kept: a local directory, or an S3 bucket and key prefix."""

    kind: str  # "local" or "s3"
    directory: Path | None = None
    bucket: str = ""
    prefix: str = ""


def storage_location(settings: Settings, instance_path: str | Path) -> StorageLocation:
    """Read ``VHS_STORAGE_URL``; ValueError says what is wrong with it."""
    url = settings.storage_url.strip()
    if not url:
        return StorageLocation("local", directory=Path(instance_path) / "media")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError("a file: storage URL needs an absolute path (file:///srv/media)")
        return StorageLocation("local", directory=Path(unquote(parts.path)))
    if parts.scheme == "s3":
        prefix = parts.path.strip("/")
        if not S3_BUCKET.fullmatch(parts.netloc) or ".." in parts.netloc:
            raise ValueError(f"{parts.netloc!r} is not an S3 bucket name")
        if prefix and (not S3_PREFIX.fullmatch(prefix) or ".." in prefix.split("/")):
            raise ValueError(f"{prefix!r} is not a key prefix (letters, digits, . _ - and /)")
        if parts.query or parts.fragment:
            raise ValueError("an s3: storage URL takes no query or fragment")
        return StorageLocation("s3", bucket=parts.netloc, prefix=prefix)
    raise ValueError("use file:///path or s3://bucket/prefix (or leave it empty)")


def media_problems(settings: Settings) -> list[str]:
    """What is wrong with the media settings, each naming the variable to fix."""
    problems = []
    try:
        location = storage_location(settings, ".")
    except ValueError as exc:
        problems.append(f"set VHS_STORAGE_URL correctly: {exc}")
        location = None
    s3_names = ("s3_endpoint_url", "s3_region", "s3_access_key_id", "s3_secret_access_key")
    if location is None or location.kind != "s3":
        if any(getattr(settings, name) for name in s3_names):
            problems.append("set VHS_STORAGE_URL to s3://bucket/prefix (S3 settings are given)")
    else:
        if bool(settings.s3_access_key_id) != bool(settings.s3_secret_access_key):
            problems.append(
                "set both VHS_S3_ACCESS_KEY_ID and VHS_S3_SECRET_ACCESS_KEY, or neither "
                "(then boto3 finds credentials itself)"
            )
        endpoint = urlsplit(settings.s3_endpoint_url)
        if settings.s3_endpoint_url and (
            endpoint.scheme not in ("http", "https") or not endpoint.netloc
        ):
            problems.append("set VHS_S3_ENDPOINT_URL to an http(s):// address, or leave it empty")
    if not 1 <= settings.media_max_file_mb <= MEDIA_MAX_FILE_MB_LIMIT:
        problems.append(f"set VHS_MEDIA_MAX_FILE_MB between 1 and {MEDIA_MAX_FILE_MB_LIMIT}")
    if not 1 <= settings.media_url_ttl_seconds <= PRESIGNED_TTL_LIMIT:
        problems.append(f"set VHS_MEDIA_URL_TTL_SECONDS between 1 and {PRESIGNED_TTL_LIMIT}")
    if not 1 <= settings.media_import_max_mb <= MEDIA_MAX_FILE_MB_LIMIT:
        problems.append(f"set VHS_MEDIA_IMPORT_MAX_MB between 1 and {MEDIA_MAX_FILE_MB_LIMIT}")
    if not 1 <= settings.media_import_files_max_mb <= MEDIA_MAX_FILE_MB_LIMIT:
        problems.append(
            f"set VHS_MEDIA_IMPORT_FILES_MAX_MB between 1 and {MEDIA_MAX_FILE_MB_LIMIT}"
        )
    return problems


# Library cards: a number is at most 6 + 10 + 1 digits (the column holds 20); a card is valid
# for at most ten years at a time; an annual fee above €1,000 is a typo.
LIBRARY_CARD_PREFIX_MAX_DIGITS = 6
LIBRARY_CARD_VALID_MONTHS_MAX = 120
LIBRARY_CARD_FEE_CENTS_MAX = 100_000


# Bounds of the lending settings (the licences' own longest loan is 366 days, a CHECK).
LIBRARY_LOAN_DAYS_LIMIT = 366
LIBRARY_LIMIT_MAX = 1000  # loans or holds per patron
LIBRARY_PICKUP_HOURS_LIMIT = 30 * 24
LIBRARY_LINK_MINUTES_LIMIT = 24 * 60  # a signed download link lives a day at most
LIBRARY_NAME_MAX = 200
LIBRARY_ODL_TIMEOUT_LIMIT = 120  # a distributor's answer is waited for at most two minutes
LIBRARY_ODL_SYNC_MINUTES = (5, 7 * 24 * 60)
OPDS_PIN_CACHE_SECONDS_MAX = 3600  # a remembered PIN check lives an hour at most


def library_problems(settings: Settings) -> list[str]:
    """What is wrong with the library settings, each naming the variable to fix."""
    problems = []
    prefix = settings.library_card_prefix
    if not re.fullmatch(rf"[0-9]{{0,{LIBRARY_CARD_PREFIX_MAX_DIGITS}}}", prefix):
        problems.append(
            f"set VHS_LIBRARY_CARD_PREFIX to at most {LIBRARY_CARD_PREFIX_MAX_DIGITS} digits"
        )
    if not 1 <= settings.library_card_valid_months <= LIBRARY_CARD_VALID_MONTHS_MAX:
        problems.append(
            f"set VHS_LIBRARY_CARD_VALID_MONTHS between 1 and {LIBRARY_CARD_VALID_MONTHS_MAX}"
        )
    if not 0 <= settings.library_card_fee_cents <= LIBRARY_CARD_FEE_CENTS_MAX:
        problems.append(
            f"set VHS_LIBRARY_CARD_FEE_CENTS between 0 and {LIBRARY_CARD_FEE_CENTS_MAX}"
        )
    for kind in ("ebook", "audiobook", "emagazine", "video", "document"):
        if not 1 <= getattr(settings, f"library_loan_days_{kind}") <= LIBRARY_LOAN_DAYS_LIMIT:
            problems.append(
                f"set VHS_LIBRARY_LOAN_DAYS_{kind.upper()} between 1 and {LIBRARY_LOAN_DAYS_LIMIT}"
            )
    if not 1 <= settings.library_max_loans <= LIBRARY_LIMIT_MAX:
        problems.append(f"set VHS_LIBRARY_MAX_LOANS between 1 and {LIBRARY_LIMIT_MAX}")
    if not 0 <= settings.library_max_holds <= LIBRARY_LIMIT_MAX:
        problems.append(f"set VHS_LIBRARY_MAX_HOLDS between 0 and {LIBRARY_LIMIT_MAX}")
    if not 1 <= settings.library_hold_pickup_hours <= LIBRARY_PICKUP_HOURS_LIMIT:
        problems.append(
            f"set VHS_LIBRARY_HOLD_PICKUP_HOURS between 1 and {LIBRARY_PICKUP_HOURS_LIMIT}"
        )
    if not 1 <= settings.library_link_minutes <= LIBRARY_LINK_MINUTES_LIMIT:
        problems.append(f"set VHS_LIBRARY_LINK_MINUTES between 1 and {LIBRARY_LINK_MINUTES_LIMIT}")
    if not settings.library_name.strip() or len(settings.library_name) > LIBRARY_NAME_MAX:
        problems.append(f"set VHS_LIBRARY_NAME to a name of 1 to {LIBRARY_NAME_MAX} characters")
    if not 1 <= settings.library_odl_timeout_seconds <= LIBRARY_ODL_TIMEOUT_LIMIT:
        problems.append(
            f"set VHS_LIBRARY_ODL_TIMEOUT_SECONDS between 1 and {LIBRARY_ODL_TIMEOUT_LIMIT}"
        )
    lo, hi = LIBRARY_ODL_SYNC_MINUTES
    if not lo <= settings.library_odl_sync_minutes <= hi:
        problems.append(f"set VHS_LIBRARY_ODL_SYNC_MINUTES between {lo} and {hi}")
    demo_feed = settings.library_demo_distributor_url
    if demo_feed and urlsplit(demo_feed).scheme not in ("http", "https"):
        problems.append("set VHS_LIBRARY_DEMO_DISTRIBUTOR_URL to an http(s) URL of an ODL feed")
    if not 0 <= settings.opds_pin_cache_seconds <= OPDS_PIN_CACHE_SECONDS_MAX:
        problems.append(
            f"set VHS_OPDS_PIN_CACHE_SECONDS between 0 and {OPDS_PIN_CACHE_SECONDS_MAX}"
        )
    return problems


def flask_config(settings: Settings, instance_path: str) -> dict[str, Any]:
    """Translate settings into the keys Flask and its extensions read."""
    db_url = settings.database_url or f"sqlite:///{Path(instance_path) / 'vhs.sqlite3'}"
    secure = (
        settings.production
        if settings.session_cookie_secure is None
        else bool(settings.session_cookie_secure)
    )
    ratelimit_storage = settings.ratelimit_storage_url or settings.redis_url or "memory://"
    return {
        "VHS": settings,
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not db_url.startswith("sqlite")},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": 60 * 60 * 8,
        "RATELIMIT_STORAGE_URI": ratelimit_storage,
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": settings.default_locale,
        "BABEL_DEFAULT_TIMEZONE": settings.timezone.key,
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "API_TITLE": "vhs-platform API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "JSON_SORT_KEYS": False,
    }
