"""Minqing settings. Everything works with no environment at all (the embedded default:
SQLite in var/, a Celery broker in a SQLite file); DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis. Every variable read here is listed in README.md."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MINQING_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# The embedded default is for a laptop; a deployment sets its own key.
EMBEDDED_SECRET_KEY = "minqing-embedded-default-not-for-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# The production switch (README "Security"): a deployment says MINQING_ENV=production and then
# cannot start with what is only fit for a laptop. Anything else than the two words is a typo,
# and a typo must not fall back to the laptop's settings silently.
MINQING_ENV = env_str("MINQING_ENV", "development").strip().lower()
if MINQING_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"MINQING_ENV must be development or production, got {MINQING_ENV!r}")
PRODUCTION = MINQING_ENV == "production"
if PRODUCTION:
    if SECRET_KEY == EMBEDDED_SECRET_KEY:
        raise ImproperlyConfigured(
            "MINQING_ENV=production needs DJANGO_SECRET_KEY: the embedded key is public (it is in the source)"
        )
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("MINQING_ENV=production needs a DJANGO_SECRET_KEY of at least 50 random characters")
    if DEBUG:
        raise ImproperlyConfigured(
            "MINQING_ENV=production refuses DJANGO_DEBUG=true: debug pages show settings and data to anyone"
        )

# HTTPS (README "Security"). MINQING_HTTPS says the site is reached over HTTPS only: cookies are
# sent over HTTPS only, plain HTTP is redirected, and browsers are told to use HTTPS for
# MINQING_HSTS_SECONDS. Behind a proxy that ends TLS, MINQING_TRUST_X_FORWARDED_PROTO lets its
# X-Forwarded-Proto header say the request came over HTTPS (the proxy must set it, overwriting
# whatever the client sent); without it every request would look like plain HTTP and be redirected.
HTTPS = env_bool("MINQING_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("MINQING_HSTS_SECONDS", 365 * 24 * 3600) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("MINQING_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("MINQING_HSTS_PRELOAD", False)
if env_bool("MINQING_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Asking browsers to preload HSTS is a deliberate choice (a public host submitted to their list; an
# intranet host cannot be): when it is not made, `check --deploy` is not to nag about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"] if not SECURE_HSTS_PRELOAD else []
# Always: no framing, no content-type guessing, no referrer beyond the site, script-proof cookies.
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Sent with every page and API answer (config.middleware.ContentSecurityPolicyMiddleware): scripts,
# styles, fonts and data from this site only, nothing inline, no plugins, no framing. Every page
# (ours, the admin's, the API docs') is built to work under it; README "Security".
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular_sidecar",
    # Both are needed: "viewflow" makes the task permissions, "viewflow.workflow" the models.
    "viewflow",
    "viewflow.workflow",
    "casework",
    "workflows",
    "api",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files (public, cacheable) are answered before it.
    "config.middleware.NoStoreMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "web.accounts.AccountGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'minqing.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has a web process and a worker writing one file: WAL lets readers
    # go on during a write, IMMEDIATE takes the write lock up front instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "casework.User"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "minqing_cache",
        }
    }

# The password policy (README "Accounts"): at least 12 characters of three kinds, not common, not
# like the username, none of the last five again.
MINQING_PASSWORD_MIN_LENGTH = env_int("MINQING_PASSWORD_MIN_LENGTH", 12)
MINQING_PASSWORD_HISTORY = env_int("MINQING_PASSWORD_HISTORY", 5)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": MINQING_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "casework.passwords.CharacterKindsValidator"},
    {"NAME": "casework.passwords.PasswordHistoryValidator"},
]

# Every password sign-in (the login page, the admin's, the API's token) goes through the lock-out.
AUTHENTICATION_BACKENDS = ["casework.auth.LockoutModelBackend"]
# Lock-out (README "Accounts"): this many wrong passwords for one account within the window lock
# it; an address is locked after its own, higher, number (an office may share one address).
MINQING_LOGIN_MAX_FAILURES = env_int("MINQING_LOGIN_MAX_FAILURES", 5)
MINQING_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("MINQING_LOGIN_MAX_FAILURES_PER_ADDRESS", 50)
MINQING_LOGIN_FAILURE_WINDOW_SECONDS = env_int("MINQING_LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
MINQING_LOGIN_LOCKOUT_SECONDS = env_int("MINQING_LOGIN_LOCKOUT_SECONDS", 30 * 60)
# An API token expires this many hours after it was issued (a fixed lifetime: checking an idle
# time would write on every request); signing out of the pages or changing the password revokes it.
MINQING_API_TOKEN_HOURS = env_int("MINQING_API_TOKEN_HOURS", 8)
# The second factor (TOTP): the roles that must use it (Role values, comma-separated); others may.
MINQING_OTP_REQUIRED_ROLES = env_list(
    "MINQING_OTP_REQUIRED_ROLES",
    [
        "committee_staff",
        "committee_head",
        "proposal_office",
        "department_liaison",
        "leadership",
        "auditor",
        "security_admin",
        "sysadmin",
    ],
)
# The issuer an authenticator app shows beside the account.
OTP_TOTP_ISSUER = env_str("MINQING_OTP_ISSUER", "民情 Minqing")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))
# Uploaded files (a department's signed reply): never served as static files, only through the
# scoped download view, to whoever may read their output. In production, a shared volume (or
# every web process and worker sees the same path).
MEDIA_ROOT = Path(env_str("MINQING_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/files/"
# The largest attachment accepted (bytes).
MINQING_MAX_UPLOAD_BYTES = env_int("MINQING_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve from the apps' static folders too, so a page works before collectstatic has run.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "static"]
MINQING_TRUST_X_FORWARDED_FOR = env_bool("MINQING_TRUST_X_FORWARDED_FOR", False)
# The largest request body read, in bytes; a larger one answers 413. A case's text is at most a
# few tens of kilobytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MINQING_MAX_BODY_BYTES", 1024 * 1024)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True

VIEWFLOW = {"AUTOREGISTER": False}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.ProfileTokenAuthentication",
        "api.auth.CheckedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.MinqingAutoSchema",
    "DEFAULT_PARSER_CLASSES": ["api.parsers.SafeJSONParser"],
    # Sign-in by password is throttled per address; the rest of the API is not (the workflow
    # endpoints are the staff's hot path, and a throttle there is a shared-cache round trip).
    "DEFAULT_THROTTLE_RATES": {"token": env_str("API_TOKEN_RATE", "20/min")},
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Minqing 民情 API",
    "DESCRIPTION": "Case management for CPPCC committees: intake, review queues, transitions, audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from the sidecar package: government intranets are offline, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for each choice set several fields share (process and result ratings, …).
    "ENUM_NAME_OVERRIDES": {"SatisfactionEnum": "casework.choices.Satisfaction"},
}

# Celery: the embedded default is a broker in a SQLite file, so no server is needed.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
# At-least-once delivery: a task is acknowledged when it has finished, not when a worker takes
# it, so a worker that dies mid-task leaves the message to run again; a pool process killed
# mid-task (out of memory, SIGKILL) has its message put back instead of acknowledged as failed;
# and a worker reserves one message per process, so no task waits behind a long one in a busy
# worker, or until the visibility timeout behind a killed one. A task may therefore run twice:
# every task is idempotent, and its docstring says why.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis keeps a taken but unacknowledged message aside and hands it out again when it has been
# unacknowledged this long: that is how the task of a worker killed outright runs again. It
# must be longer than the longest task time limit (audit_verify: 3 hours), or a task still
# running would be handed to a second worker; a test holds every task to it. Only for Redis:
# the embedded SQLite broker hands its options to SQLAlchemy, which refuses this one (and puts
# a worker's unfinished messages back when the worker stops, not when it is killed).
REDIS_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT} if CELERY_BROKER_URL.startswith(("redis", "rediss")) else {}
)
# One queue name per deployment, so two deployments (or test runs) can share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# The audit trail (README "Audit"): keys and anchors live outside the database.
# Keys: inline ("<id> <hex>" items, comma-separated, last one signs) or a file, generated (0600) if missing.
AUDIT_KEYS = env_str("MINQING_AUDIT_KEYS", "")
AUDIT_KEY_FILE = env_str("MINQING_AUDIT_KEY_FILE", str(VAR_DIR / "audit-keys"))
# Personal data (README "Personal data"): the keys contacts' phone, ID number and address are
# encrypted under, inline ("<id> <hex or base64>" items, comma-separated, the last encrypts) or a
# file, generated (0600) if missing. Never in the database.
PII_KEYS = env_str("MINQING_PII_KEYS", "")
PII_KEY_FILE = env_str("MINQING_PII_KEY_FILE", str(VAR_DIR / "pii-keys"))
# A contact with no retention date of their own is anonymised by `purge_contacts` this many days
# after the last concern they raised (or after they were registered, if they raised none).
CONTACT_RETENTION_DAYS = env_int("MINQING_CONTACT_RETENTION_DAYS", 3 * 365)
# Every checkpoint's digest is appended here after commit; empty means var/audit-anchors-<database>.log.
AUDIT_ANCHOR_FILE = env_str("MINQING_AUDIT_ANCHOR_FILE", "")
AUDIT_ANCHOR_SYSLOG = env_str("MINQING_AUDIT_ANCHOR_SYSLOG", "")  # e.g. /dev/log or loghost:514
AUDIT_ANCHOR_COMMAND = env_str("MINQING_AUDIT_ANCHOR_COMMAND", "")  # gets each anchor line on stdin
# A committed event is anchored outside the database within this many seconds (plus the
# checkpoint's own run time): the window README states.
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 60)
# Where the next checkpoint starts scanning lags this far behind, so an event committed just
# after a checkpoint read (its id handed out before a neighbour's) is still seen by the next.
AUDIT_CHECKPOINT_SETTLE_SECONDS = env_int("AUDIT_CHECKPOINT_SETTLE_SECONDS", 60)
# How long a process keeps the working-day calendar it read: an edit made elsewhere reaches it
# within this many seconds (`calendar_import` and the admin clear it in their own process at once).
MINQING_CALENDAR_CACHE_SECONDS = env_int("MINQING_CALENDAR_CACHE_SECONDS", 300)
AUDIT_VERIFY_SECONDS = env_int("AUDIT_VERIFY_SECONDS", 300)  # incremental verify_audit from beat
AUDIT_VERIFY_FULL_SECONDS = env_int("AUDIT_VERIFY_FULL_SECONDS", 86400)  # full verify_audit; 0: never
# The site's address as its users reach it (e.g. https://minqing.example.gov.cn): a notification
# sent by email or DingTalk ends with a link to the case. Empty: no link (nothing can guess it).
MINQING_SITE_URL = env_str("MINQING_SITE_URL", "").rstrip("/")
if MINQING_SITE_URL and not MINQING_SITE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        "MINQING_SITE_URL must start with https:// or http://, e.g. https://minqing.example.gov.cn"
    )
# The clock sweep (warnings, breaches, escalations; viewflow's due timers): how often beat runs it.
SLA_SWEEP_SECONDS = env_int("MINQING_SLA_SWEEP_SECONDS", 60)
# How long the API remembers the answer to a request sent with an Idempotency-Key (a retry within
# this time gets the first answer); beat deletes older ones every hour.
IDEMPOTENCY_KEY_SECONDS = env_int("MINQING_IDEMPOTENCY_KEY_SECONDS", 86400)
if IDEMPOTENCY_KEY_SECONDS < 1:
    raise ImproperlyConfigured("MINQING_IDEMPOTENCY_KEY_SECONDS must be at least 1")
# The leadership dashboard's monthly roll-up (README "Leadership dashboard"): how often beat
# rebuilds it. The whole months the page reads from it lag the cases by at most this (plus a
# rebuild's run time); the current month is always read live. 0: never (the page reads the cases).
MINQING_DASHBOARD_ROLLUP_SECONDS = env_int("MINQING_DASHBOARD_ROLLUP_SECONDS", 600)
if MINQING_DASHBOARD_ROLLUP_SECONDS < 0:
    raise ImproperlyConfigured("MINQING_DASHBOARD_ROLLUP_SECONDS must be 0 (never) or a number of seconds")
CELERY_BEAT_SCHEDULE = {
    "idempotency-purge": {"task": "casework.idempotency_purge", "schedule": 3600},
    "sla-sweep": {"task": "workflows.sla_sweep", "schedule": SLA_SWEEP_SECONDS},
    "audit-checkpoint": {"task": "casework.audit_checkpoint", "schedule": AUDIT_CHECKPOINT_SECONDS},
    "audit-verify": {"task": "casework.audit_verify", "schedule": AUDIT_VERIFY_SECONDS},
}
if AUDIT_VERIFY_FULL_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["audit-verify-full"] = {
        "task": "casework.audit_verify",
        "schedule": AUDIT_VERIFY_FULL_SECONDS,
        "kwargs": {"full": True},
    }
if MINQING_DASHBOARD_ROLLUP_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["dashboard-rollup"] = {
        "task": "casework.dashboard_rollup",
        "schedule": MINQING_DASHBOARD_ROLLUP_SECONDS,
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Notifications (README "Notifications"): email and DingTalk deliveries leave from an outbox
# that a task drains after commit, with retries and backoff. Kept in one block of its own.
# Email: the embedded default writes each message to a file under var/mail/ and needs no mail
# server; EMAIL_HOST alone switches to SMTP, EMAIL_BACKEND chooses any backend.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds; a send never hangs the drain
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "minqing@localhost")
# The outbox: a delivery is tried this many times in all, then left as failed (the admin can
# retry it); the wait after the n-th failure is BACKOFF * 2**(n-1) seconds, at most BACKOFF_MAX,
# plus up to a quarter more at random so a burst of failures does not come back at once.
MINQING_NOTIFY_MAX_ATTEMPTS = env_int("MINQING_NOTIFY_MAX_ATTEMPTS", 8)
MINQING_NOTIFY_BACKOFF_SECONDS = env_int("MINQING_NOTIFY_BACKOFF_SECONDS", 60)
MINQING_NOTIFY_BACKOFF_MAX_SECONDS = env_int("MINQING_NOTIFY_BACKOFF_MAX_SECONDS", 6 * 3600)
MINQING_NOTIFY_BATCH = env_int("MINQING_NOTIFY_BATCH", 100)  # deliveries one drain claims at a time
# A drain claims its batch for this long: other drains skip the rows meanwhile; a drain still
# sending when its claim nears the end hands the rest back instead of racing another worker.
MINQING_NOTIFY_LEASE_SECONDS = env_int("MINQING_NOTIFY_LEASE_SECONDS", 180)
MINQING_NOTIFY_DRAIN_SECONDS = env_int("MINQING_NOTIFY_DRAIN_SECONDS", 60)  # beat's backstop drain; 0: none
MINQING_DINGTALK_TIMEOUT = env_int("MINQING_DINGTALK_TIMEOUT", 10)  # seconds per robot request
if MINQING_NOTIFY_DRAIN_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["notifications-drain"] = {
        "task": "casework.notifications_drain",
        "schedule": MINQING_NOTIFY_DRAIN_SECONDS,
    }
