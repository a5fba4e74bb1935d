"""One settings class for the whole gateway, read from the environment and `.env`.

Every field here is documented in `.env.example`; secrets are `SecretStr` so they never show in a
log line or a `repr`. `load_settings()` turns pydantic's validation error into one sentence that
names the environment variable to fix.
"""

from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- the service -------------------------------------------------------------------------
    app_env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///var/lapor.db"
    data_dir: Path = Path("var")
    # Empty: http://HOST:PORT, so a demo on another port reaches itself (see `_local_base_url`).
    public_base_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: SecretStr | None = None
    default_language: Literal["id", "en"] = "id"
    timezone: str = "Asia/Jakarta"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    # One log line per HTTP request (uvicorn's access log). Behind a reverse proxy that logs
    # requests itself, false saves the web processes that work on every webhook (issue 12).
    access_log: bool = True
    scheduler_enabled: bool = True
    # Development only: with no Twilio/Telegram credentials, talk to fake providers mounted
    # inside the gateway and start the SP4N core simulator beside it (see gateway/dev/demo.py).
    demo_providers: bool = True

    # --- intake and the web form ---------------------------------------------------------------
    inbound_resume_seconds: int = Field(default=30, ge=1)
    # A web process without jobs (`serve --no-jobs`) processes what it stored right after the
    # ack (true), or leaves it to `lapor-gateway worker` (false): the web then only verifies,
    # stores and acks, and a flood's processing never takes the acks' CPU (issue 12).
    web_processes_inbound: bool = True
    # How often a worker process looks for messages the web processes stored (an indexed
    # query on status, skipped while the worker still has plenty queued).
    inbound_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    complaint_min_chars: int = Field(default=15, ge=1)
    complaint_max_chars: int = Field(default=5000, ge=100)
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    upload_max_files: int = Field(default=3, ge=0, le=10)
    # Photos are shrunk to this many pixels on their longer side (channels/images.py).
    image_max_side: int = Field(default=2560, ge=320, le=10000)
    # What one chat message may hand over (SMS, WhatsApp, Telegram, Meta, X, YouTube): longer
    # text is cut to this many characters and the bot says so (channels/sanitize.py).
    chat_max_chars: int = Field(default=4096, ge=160)
    # The same for one e-mail's text (the whole mail stays in the raw record).
    email_max_chars: int = Field(default=20000, ge=1000)
    # A webhook body larger than this is no genuine provider request: unreadable.
    webhook_max_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    # Where verified webhooks wait while the database is unreachable (default DATA_DIR/spool),
    # and how large that file may grow before the route answers 503 instead.
    webhook_spool_dir: Path | None = None
    webhook_spool_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)

    # --- outbox ----------------------------------------------------------------------------
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_batch_size: int = Field(default=20, ge=1)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_base_seconds: float = Field(default=5.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    outbox_lease_seconds: int = Field(default=120, ge=5)
    # Requests in flight at once per channel, and sends per second per channel (one sending
    # number or bot each): the providers' own limits (WhatsApp 80 msg/s per number, Telegram
    # 30 msg/s). A channel not listed is not throttled. JSON, e.g. {"telegram": 30}.
    outbox_channel_concurrency: int = Field(default=16, ge=1, le=1000)
    outbox_send_rates: dict[str, float] = Field(
        default_factory=lambda: {"twilio_whatsapp": 80.0, "whatsapp_cloud": 80.0, "telegram": 30.0}
    )
    # Per recipient (one chat, one phone): a burst of OUTBOX_RECIPIENT_BURST messages, then
    # this many a second. Telegram asks for about one message a second per chat; WhatsApp
    # Cloud's pair rate is one message every 6 seconds to one user. JSON, e.g. {"telegram": 1}.
    outbox_recipient_rates: dict[str, float] = Field(
        default_factory=lambda: {"telegram": 1.0, "whatsapp_cloud": 1 / 6}
    )
    outbox_recipient_burst: int = Field(default=3, ge=1, le=100)
    # Rows one dispatcher holds claimed at once (kept small enough to send within the lease).
    outbox_max_in_flight: int = Field(default=200, ge=1)

    # --- threads and connections (docs/PERFORMANCE.md, "What runs where") --------------------
    # Threads serving the routes that touch the database (writes never run on the event loop).
    web_threads: int = Field(default=40, ge=1, le=1000)
    # Threads turning stored inbound messages into complaints, each with its own connection.
    inbound_threads: int = Field(default=2, ge=1, le=64)
    # `lapor-gateway worker` lowers its own CPU priority by this much (Unix nice, 0-19): on a
    # machine it shares with web processes, a flood's acks get the CPU first and processing
    # and sending take what is left, catching up once the flood ebbs (issue 12). 0 keeps it.
    worker_nice: int = Field(default=10, ge=0, le=19)
    # Pooled database connections; 0 sizes the pool to its users (web threads + inbound
    # threads + the dispatcher and scheduler), so no thread ever waits for a connection.
    database_pool_size: int = Field(default=0, ge=0)
    # A webhook's INSERT waits at most this long for the database (the SQLite write lock, a
    # pooled connection) before answering 503, well inside the providers' timeouts (the
    # provider retries; nothing is lost).
    ack_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    # --- the chat bot -----------------------------------------------------------------------
    # Messages from one reporter within this many minutes form one draft complaint.
    conversation_idle_minutes: float = Field(default=3.0, gt=0)
    # Status changes the reporter is told about (comma-separated states).
    reporter_status_notices: str = "verified,disposed,in_progress,answered,closed,returned"
    # A web-form reporter who left a phone number also gets answers and notices by SMS.
    webform_sms_copies: bool = True
    # ... and one who left an e-mail address, by e-mail (when SMTP_HOST and EMAIL_ADDRESS are set).
    webform_email_copies: bool = True

    # --- Twilio: SMS 1708 and WhatsApp ----------------------------------------------------------
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr | None = None
    twilio_sms_number: str = ""
    twilio_whatsapp_number: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    # The URL Twilio signs is the public one; behind a proxy it differs from what we see.
    twilio_public_base_url: str | None = None
    twilio_reply_mode: Literal["twiml", "rest"] = "rest"
    twilio_timeout_seconds: float = Field(default=15.0, gt=0)
    # Longer replies go out as several SMS, each concatenated by Twilio from at most this many
    # segments (Twilio advises staying under 10; 1 sends every segment as its own SMS).
    twilio_sms_max_segments: int = Field(default=10, ge=1, le=10)
    # Approved WhatsApp templates (Content API SIDs) per outbound message kind, as JSON, e.g.
    # {"answer": "HX...", "status": "HX..."}; used outside the 24-hour customer-service window.
    twilio_whatsapp_templates: dict[str, str] = Field(default_factory=dict)
    # Treat the 24-hour window as closing this much earlier: a reply may sit in the outbox.
    twilio_whatsapp_window_margin_seconds: int = Field(default=600, ge=0, le=3600)

    # --- Telegram ----------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_mode: Literal["webhook", "polling"] = "webhook"
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_timeout_seconds: float = Field(default=15.0, gt=0)
    telegram_poll_timeout_seconds: int = Field(default=30, ge=0, le=60)

    # --- X (Twitter): mentions and DMs, polled (docs/channels/x.md) ---------------------------
    x_api_base_url: str = "https://api.x.com"
    x_bearer_token: SecretStr | None = None  # app-only: reading mentions
    x_user_id: str = ""  # the regency's account (numeric id)
    # OAuth 1.0a user context of that account: DMs and replies. The consumer secret also
    # answers the webhook CRC and checks x-twitter-webhooks-signature.
    x_consumer_key: str = ""
    x_consumer_secret: SecretStr | None = None
    x_access_token: str = ""
    x_access_token_secret: SecretStr | None = None
    x_poll_seconds: float = Field(default=300.0, ge=15)
    # Posts and DM events read per day (X bills reads); polling stops when it is spent.
    x_daily_read_budget: int = Field(default=300, ge=0)
    x_page_size: int = Field(default=100, ge=5, le=100)
    x_max_pages_per_poll: int = Field(default=3, ge=1, le=20)
    x_timeout_seconds: float = Field(default=15.0, gt=0)

    # --- YouTube: comments on the regency's channel (docs/channels/youtube.md) -----------------
    youtube_api_base_url: str = "https://youtube.googleapis.com"
    youtube_api_key: SecretStr | None = None  # reading public comments
    youtube_channel_id: str = ""
    # OAuth of the channel's owner (scope youtube.force-ssl): replying with comments.insert.
    youtube_oauth_client_id: str = ""
    youtube_oauth_client_secret: SecretStr | None = None
    youtube_oauth_refresh_token: SecretStr | None = None
    youtube_oauth_token_uri: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    youtube_poll_seconds: float = Field(default=900.0, ge=60)
    # Quota units polling may spend a day (1 per commentThreads.list page); the rest of the
    # project's 10,000 is left for replies (50 units each).
    youtube_daily_quota_budget: int = Field(default=1000, ge=0)
    youtube_max_pages_per_poll: int = Field(default=3, ge=1, le=20)
    youtube_timeout_seconds: float = Field(default=15.0, gt=0)

    # --- e-mail: the regency's complaint mailbox (docs/channels/email.md) -----------------------
    email_address: str = ""  # our From address (mail from it is never answered)
    email_from_name: str = "LAPOR!"
    imap_host: str = ""
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Literal["ssl", "starttls", "none"] = "ssl"
    imap_user: str = ""
    imap_password: SecretStr | None = None
    imap_mailbox: str = "INBOX"
    imap_idle: bool = True  # wait with IMAP IDLE between polls when the server offers it
    email_poll_seconds: float = Field(default=60.0, ge=5)
    email_batch_size: int = Field(default=25, ge=1, le=500)
    # Attachments larger than this stay in the mailbox (listed, not copied).
    email_attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    email_timeout_seconds: float = Field(default=30.0, gt=0)
    # The demo's mail (gateway/dev/demo_mail.py): in demo mode with no IMAP_HOST/SMTP_HOST, a
    # local SMTP "mail network" and (when Dovecot is installed) a local IMAP mailbox.
    # Where the Ombudsman package is e-mailed by default (the Ombudsman RI representative office
    # of the province); the koordinator can type another address on /admin/ombudsman.
    ombudsman_email: str = ""
    demo_mail: bool = True
    demo_smtp_port: int = Field(default=8025, ge=1, le=65535)
    demo_imap_port: int = Field(default=8143, ge=1, le=65535)
    # --- Meta: WhatsApp Cloud API, Instagram, Facebook Page (channels/meta/) -------------------
    # One Meta app receives the three webhooks: its secret signs every POST
    # (X-Hub-Signature-256) and the verify token answers the GET set-up check (hub.challenge).
    meta_app_secret: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    meta_graph_base_url: str = "https://graph.facebook.com"
    meta_graph_api_version: str = "v21.0"
    meta_timeout_seconds: float = Field(default=15.0, gt=0)
    # Treat the 24-hour windows (WhatsApp customer service, Messenger/Instagram messaging) as
    # closing this many seconds early: a reply may wait in the outbox.
    meta_window_margin_seconds: int = Field(default=600, ge=0, le=3600)
    whatsapp_cloud_phone_number_id: str = ""
    whatsapp_cloud_waba_id: str = ""
    whatsapp_cloud_access_token: SecretStr | None = None
    # Approved templates per outbound message kind, used outside the 24-hour window, as JSON:
    # {"answer": "lapor_jawaban", "reminder": "lapor_pengingat:id"}; `name:language` pins a
    # language, else the message's own language ("id" or "en") is asked for.
    whatsapp_cloud_templates: dict[str, str] = Field(default_factory=dict)
    facebook_page_id: str = ""
    facebook_page_access_token: SecretStr | None = None
    # Message tags per outbound message kind for Messenger outside the 24-hour window, as JSON,
    # e.g. {"answer": "ACCOUNT_UPDATE"}; a kind without a tag cannot be sent once it closed.
    facebook_message_tags: dict[str, str] = Field(default_factory=dict)
    instagram_account_id: str = ""
    # The Page access token of the Page linked to the Instagram account (Facebook Login), or an
    # Instagram user token with INSTAGRAM_GRAPH_BASE_URL=https://graph.instagram.com.
    instagram_access_token: SecretStr | None = None
    instagram_graph_base_url: str | None = None  # empty: META_GRAPH_BASE_URL
    # Instagram allows one tag outside the window: {"answer": "HUMAN_AGENT"} (7 days).
    instagram_message_tags: dict[str, str] = Field(default_factory=dict)
    # Which WhatsApp carries liaison notices, deadline reminders and the koordinators' digest:
    # Twilio's (the default) or the regency's own number on Meta's WhatsApp Cloud API (then
    # WHATSAPP_CLOUD_TEMPLATES needs "notification", "reminder" and "digest").
    liaison_whatsapp_channel: Literal["twilio_whatsapp", "whatsapp_cloud"] = "twilio_whatsapp"
    # Comments under the regency's posts get a short neutral public reply and a private one
    # (gateway/bot/public_posts.py); false: they are recorded and only answered privately.
    public_comment_replies: bool = True

    # --- media the channels download -------------------------------------------------------------
    phone_default_region: str = "ID"  # for numbers written without a country code
    # What a downloaded attachment may be (the types `channels.sniff` recognises and stores).
    media_allowed_types: list[str] = Field(
        default_factory=lambda: [
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/heic",
            "image/gif",
            "application/pdf",
            "video/mp4",
            "audio/ogg",
        ]
    )
    media_download_timeout_seconds: float = Field(default=30.0, gt=0)
    # Where each source's attachments may be fetched from (and redirected to): host names,
    # "*.example.com" for its subdomains, "host:port" for one port (channels/media.py). The
    # host of the source's API base URL (TWILIO_API_BASE_URL...) is always allowed as well.
    twilio_media_hosts: list[str] = Field(
        default_factory=lambda: [
            "api.twilio.com",
            "*.twiliocdn.com",
            "s3-external-1.amazonaws.com",
        ]
    )
    telegram_media_hosts: list[str] = Field(default_factory=lambda: ["api.telegram.org"])
    meta_media_hosts: list[str] = Field(
        default_factory=lambda: ["*.fbcdn.net", "*.fbsbx.com", "*.cdninstagram.com"]
    )
    x_media_hosts: list[str] = Field(
        default_factory=lambda: ["pbs.twimg.com", "video.twimg.com", "ton.twitter.com"]
    )
    core_media_hosts: list[str] = Field(default_factory=list)  # besides CORE_BASE_URL's host
    # Whether media may come from private, loopback or link-local addresses (the local fakes);
    # empty: yes unless APP_ENV=production. The hosts of the configured base URLs are trusted.
    media_allow_private_addresses: bool | None = None

    # --- the SP4N-LAPOR core -------------------------------------------------------------------
    core_backend: Literal["simulator", "rest", "manual"] = "simulator"
    core_base_url: str = "http://127.0.0.1:8100"
    core_api_key: SecretStr | None = None
    core_push_secret: SecretStr | None = None
    core_poll_seconds: float = Field(default=30.0, gt=0)
    core_timeout_seconds: float = Field(default=10.0, gt=0)
    core_retries: int = Field(default=2, ge=0, le=10)  # extra tries of idempotent reads
    core_retry_backoff_seconds: float = Field(default=0.5, ge=0)
    core_page_size: int = Field(default=100, ge=1, le=500)  # events per `updates` call
    # JSON or YAML file overriding the REST backend's paths and field names (forwarder/rest.py).
    core_rest_mapping_file: Path | None = None
    core_push_tolerance_seconds: int = Field(default=300, ge=1)
    # manual backend: what a LAPOR! tracking id typed by an admin must look like (full match)
    core_manual_id_pattern: str = r"\d{5,12}"
    core_manual_template_file: Path = CONFIG_DIR / "core_manual.yaml"
    # the built-in simulator (backend "simulator"), served at core_base_url
    core_simulator_db: Path = Path("var/core.db")
    core_simulator_auto_answer_seconds: float | None = Field(default=None, gt=0)

    # --- Open311 GeoReport v2 (/open311/v2/, docs/open311.md) ------------------------------------
    # The jurisdiction_id clients may send (empty: one jurisdiction, the parameter is ignored).
    open311_jurisdiction_id: str = Field(default="", max_length=200)
    # POST requests per API key per hour (a civic app, not a flood).
    open311_posts_per_hour: int = Field(default=60, ge=1)

    # --- deadlines (working days, see docs/sla.md) ----------------------------------------------
    holiday_region: str | None = "rembang"
    # The holiday files: <year>.yaml (collective leave) and regional/<region>.yaml.
    holiday_dir: Path = CONFIG_DIR / "holidays"
    sla_verify_working_days: int = Field(default=3, ge=1)
    sla_aspirasi_days: int = Field(default=5, ge=1)
    sla_permintaan_informasi_days: int = Field(default=5, ge=1)
    sla_pengaduan_days: int = Field(default=14, ge=1)
    sla_pengaduan_berkadar_pengawasan_days: int = Field(default=60, ge=1)
    sla_feedback_working_days: int = Field(default=10, ge=1)
    # Escalate (Ombudsman) this many working days after disposition when still unanswered;
    # empty: when the answer deadline passes (Bangkalan: 60).
    sla_escalation_working_days: int | None = Field(default=None, ge=1)
    # Reminders to the agency's liaison officers, in working days from the answer deadline
    # (negative before, 0 on the day, positive overdue), sent at SLA_REMINDER_TIME local.
    sla_answer_reminders: list[int] = Field(default_factory=lambda: [-2, 0, 1])
    sla_reminder_time: time = time(8, 0)
    # How often another instance notices that admins changed the holidays.
    calendar_check_seconds: float = Field(default=30.0, gt=0)

    # --- sweeps, digest, reports, publication (docs/reports.md) ---------------------------------
    # Reminders, escalation and automatic closing run every this many minutes (on the leader).
    sweep_interval_minutes: float = Field(default=10.0, gt=0)
    # A non-leader instance tries to become the sweeps' leader this often (PostgreSQL).
    leader_check_seconds: float = Field(default=30.0, gt=0)
    # The daily digest to koordinators (WhatsApp when their account has a number), local time,
    # on working days.
    digest_time: time = time(7, 0)
    digest_enabled: bool = True
    # The public page of resolved complaints per month (Rembang SOP step 7).
    publication_enabled: bool = True

    # --- several instances (docs/deploy.md) --------------------------------------------------
    # Where attachments are kept: a local directory under DATA_DIR (one machine), or any
    # S3-compatible object store shared by every instance (AWS S3, MinIO, Ceph, Garage...).
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    # Empty: AWS itself; set it for MinIO and the like (e.g. http://127.0.0.1:9000).
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Keys are stored under this prefix in the bucket (several gateways may share one bucket).
    s3_prefix: str = "attachments/"
    # A worker that took a pending attachment to download holds it this long; after a crash
    # another worker takes it over once the claim has expired.
    attachment_claim_seconds: int = Field(default=300, ge=10)
    attachment_fetch_seconds: float = Field(default=20.0, gt=0)
    # A polled source (X, YouTube, e-mail) that failed waits twice as long after each failure,
    # up to this many seconds (a provider's own Retry-After wins when it is longer).
    poller_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # Rate limits on the public endpoints (the form, the JSON API, the status page, the admin
    # login), per client address, in the `limits` notation ("10/minute;100/hour").
    rate_limit_enabled: bool = True
    # memory: this process only (one machine); database: shared through the gateway's
    # PostgreSQL (several instances); redis://host:6379/0: shared through Redis.
    rate_limit_storage: str = "memory"
    rate_limit_form: str = "10/minute;60/hour"
    rate_limit_api: str = "60/minute"
    rate_limit_status: str = "30/minute"
    rate_limit_login: str = "10/minute"
    # Behind a reverse proxy the client address is the first of X-Forwarded-For that the
    # proxy added; uvicorn's --proxy-headers already puts it in request.client.

    # --- duplicates ------------------------------------------------------------------------------
    dedup_same_reporter_text: float = Field(default=65.0, ge=0, le=100)
    dedup_same_problem_text: float = Field(default=56.0, ge=0, le=100)
    dedup_same_reporter_days: int = Field(default=30, ge=0)
    dedup_same_problem_days: int = Field(default=14, ge=0)
    # normalizer.dedup.judge(): with no place agreeing, only texts this alike cluster ...
    dedup_near_exact_text: float = Field(default=85.0, ge=0, le=100)
    # ... and with a place, pin or street agreeing, text plus that evidence must reach this.
    dedup_cluster_evidence: float = Field(default=66.0, ge=0, le=200)
    dedup_auto_merge: bool = True

    # --- the admin inbox: sessions, lock-out, the list --------------------------------------------
    # An admin session ends after this many minutes without a request (sliding) ...
    admin_session_idle_minutes: int = Field(default=60, ge=1)
    # ... and at the latest this many hours after logging in.
    admin_session_max_hours: int = Field(default=12, ge=1)
    # This many wrong passwords in a row lock the account for admin_lockout_minutes.
    admin_login_max_failures: int = Field(default=5, ge=1)
    admin_lockout_minutes: int = Field(default=15, ge=1)
    # Wrong passwords from one client address (any usernames) within admin_lockout_minutes
    # before that address may not try again until the window has passed.
    admin_login_address_max_failures: int = Field(default=20, ge=1)
    # Channel health (admin health page, /healthz, alarms to koordinators): a channel whose last
    # this-many deliveries in a row failed is "failing"; one that received messages before but
    # none for this many hours is "silent".
    channel_failure_alarm: int = Field(default=3, ge=1)
    # GET /metrics (Prometheus) answers only with this bearer token; unset: /metrics is off.
    metrics_token: SecretStr | None = None
    channel_silent_hours: float = Field(default=72, gt=0)
    # Complaints per inbox page, and where the counts per filter stop counting ("10000+").
    admin_inbox_page_size: int = Field(default=50, ge=5, le=500)
    admin_inbox_count_cap: int = Field(default=5000, ge=100)
    # A deadline closer than this many hours is "due soon" in the inbox.
    admin_due_soon_hours: int = Field(default=48, ge=1)
    # The inbox and the complaint page ask for changes this often (htmx polling; 0: never).
    admin_live_poll_seconds: int = Field(default=10, ge=0, le=3600)

    # --- maps (admin map, complaint pin, web form pin, public map; docs/admin.md) ---------------
    # A tile URL template ("https://tile.example.org/{z}/{x}/{y}.png"); empty: no tiles, the maps
    # show pins on a plain background with the gazetteer's kecamatan labels (demo, tests).
    map_tile_url: str = ""
    # The attribution the tile provider requires (shown on the map); HTML is escaped.
    map_tile_attribution: str = ""
    # The public map of resolved complaints rounds locations to this many decimals (2 ≈ 1 km).
    public_map_decimals: int = Field(default=2, ge=1, le=4)

    # --- data files ----------------------------------------------------------------------------
    agency_directory_file: Path = CONFIG_DIR / "agencies.yaml"
    gazetteer_file: Path = CONFIG_DIR / "gazetteer" / "rembang.yaml"

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        # `.env.example` lists optional settings as `NAME=`: empty means "not set", never an
        # empty secret or Path(".").
        field = cls.model_fields.get(info.field_name or "")
        blank = isinstance(value, str) and not value.strip()
        return None if blank and field is not None and field.default is None else value

    @field_validator("core_manual_id_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator(
        "twilio_public_base_url",
        "twilio_api_base_url",
        "telegram_api_base_url",
        "x_api_base_url",
        "youtube_api_base_url",
        "youtube_oauth_token_uri",
        "meta_graph_base_url",
        "instagram_graph_base_url",
        "core_base_url",
        "s3_endpoint_url",
    )
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return _http_url(value) if value is not None else value

    @field_validator("public_base_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _http_url(value) if value else value  # empty: derived from HOST and PORT

    @model_validator(mode="after")
    def _local_base_url(self) -> Settings:
        if not self.public_base_url:
            self.public_base_url = local_base_url(self.host, self.port)
        return self

    @field_validator("meta_graph_api_version")
    @classmethod
    def _graph_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError("must look like v21.0")
        return value

    @field_validator("rate_limit_form", "rate_limit_api", "rate_limit_status", "rate_limit_login")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must look like 10/minute or 10/minute;100/hour") from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        if value not in ("memory", "database") and not value.startswith(
            ("redis://", "rediss://", "redis+sentinel://")
        ):
            raise ValueError("must be memory, database or a redis:// URL")
        return value

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry the Secure flag when the gateway is reached over HTTPS."""
        return self.public_base_url.startswith("https://")

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def mail_spool_dir(self) -> Path:
        """Where the mail channel keeps attachments it read until the gateway stores them."""
        return self.data_dir / "mail"


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def local_base_url(host: str, port: int) -> str:
    """Where this machine reaches a gateway listening on `host:port`."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - listening everywhere; reached locally
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raise `SettingsError` naming the bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "?"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("Invalid setting " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
