"""Settings shared by every environment; everything that differs per machine comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from ..queues import broker_queues
from .parsing import email_config, oidc_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(os.environ.get("O2C_DATA_DIR", BASE_DIR / "data"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
# The key of the bank-account fingerprints (receivables.accounts): apart from SECRET_KEY, because
# a fingerprint must stay the same for years (a re-sent statement is recognised by it, and
# the matcher learns which customer pays from which account), while SECRET_KEY is rotated when
# sessions must die. Never rotate this one; production requires it.
O2C_ACCOUNT_FINGERPRINT_KEY = os.environ.get("O2C_ACCOUNT_FINGERPRINT_KEY", "")
# Earlier SECRET_KEYs still accepted for sessions and signed links during a rotation.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "simple_history",
    "django_celery_beat",
    "django_prometheus",
    "django_fsm",
    "axes",
    "core",
    "orders",
    "exceptions",
    "billing",
    "receivables",
    "cases",
    "dunning",
    "integrations",
    "triage",
    "insights",
    "sso",
]

MIDDLEWARE = [
    # request counts and latencies for /metrics: first and (but for axes) last, to time it all
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.logs.CorrelationMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages and CSV exports show times in the signed-in person's zone (O2C_DEFAULT_TIME_ZONE
    # for one who chose none); the API stays in TIME_ZONE.
    "core.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # request.htmx, false for a history restore; sends Vary when a view reads it.
    "core.middleware.HtmxMiddleware",
    # Turns a refusal (core.errors.ApplicationError) a page lets through into its 403/4xx.
    "core.middleware.ApplicationErrorMiddleware",
    # Records request.user as the author of every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "o2c.urls"
WSGI_APPLICATION = "o2c.wsgi.application"

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
                "o2c.context_processors.navigation",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
    {
        # Only for fragments rendered dozens of times a page (a queue's rows, `.jinja` files);
        # pages and every other fragment stay Django templates.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "core.jinja.environment"},
    },
]


def database_config() -> dict:
    """DATABASE_URL, or a SQLite file in the data folder tuned so web, worker and beat can share it."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "o2c.sqlite3")}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock at BEGIN,
            # so two processes never deadlock upgrading a read lock; the timeout waits instead of
            # failing with "database is locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    return config


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it counts failed logins and refuses a locked-out username + address
# before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, limited to O2C_LOCAL_LOGIN_USERS when that is set
    "sso.backends.LocalPasswordBackend",
    # keeps sessions opened by single sign-on; checks no password
    "sso.backends.SingleSignOnBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
# Lock the pair, so one mistyping analyst cannot lock out a whole office behind one NAT address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- Single sign-on (OpenID Connect, sso/) ------------------------------------------------------
# Off, with no network used, unless O2C_OIDC_CLIENT_ID is set; then O2C_OIDC_ISSUER and
# O2C_OIDC_CLIENT_SECRET are required (o2c/settings/parsing.py, docs/operations.md).
O2C_OIDC = oidc_config(os.environ)
#: Break-glass: when set, only these usernames may sign in with a local password (the others sign
#: in with their company account). Empty: every account with a usable password may.
O2C_LOCAL_LOGIN_USERS = env_list("O2C_LOCAL_LOGIN_USERS")
if O2C_LOCAL_LOGIN_USERS and not O2C_OIDC:
    raise ImproperlyConfigured(
        "O2C_LOCAL_LOGIN_USERS limits password sign-in while single sign-on is off: nobody else "
        "could sign in. Turn single sign-on on (O2C_OIDC_CLIENT_ID) or unset it."
    )

# Content Security Policy: scripts and styles come from this app only, never inline, never
# another host (the API docs views widen styles alone; see o2c/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# History is the record: nobody reverts an object to an old version from the history page.
SIMPLE_HISTORY_REVERT_DISABLED = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Uploaded files (case attachments) live under the data folder and are never served as static
# files: each is downloaded through a view that checks the reader may see its case.
MEDIA_ROOT = DATA_DIR / "media"
# EDI partners' drop folders (TradingPartner.inbound_folder / outbound_folder) live under here.
O2C_EDI_DIR = Path(os.environ.get("O2C_EDI_DIR", DATA_DIR / "edi"))
# Who o2c is in the envelopes it writes (ISA05/ISA06 and GS02); partners know it by these.
O2C_EDI_ISA_QUALIFIER = os.environ.get("O2C_EDI_ISA_QUALIFIER", "ZZ")
O2C_EDI_ISA_ID = os.environ.get("O2C_EDI_ISA_ID", "O2CDIST")
O2C_EDI_GS_ID = os.environ.get("O2C_EDI_GS_ID", "O2CDIST")
O2C_ATTACHMENT_MAX_BYTES = int(os.environ.get("O2C_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# One URL names the mail server, its credentials and TLS: smtp://user:pass@host:587/?tls=1,
# smtps://…, console:// or locmem:// (o2c.settings.parsing). Production requires it.
if os.environ.get("EMAIL_URL"):
    globals().update(email_config(os.environ["EMAIL_URL"]))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "o2c@localhost")

# --- Notifications (core/deliveries.py; docs/operations.md "Notifications") ----------------------
# Chat channels as apprise URLs (slack://…, msteams://…, json://…), separated by spaces; none by
# default, so nothing is posted and no network is used unless an operator names a channel.
O2C_CHAT_URLS = os.environ.get("O2C_CHAT_URLS", "").split()
# The notice kinds posted to the chat channels (core.models.NoticeKind): team-wide news only.
O2C_CHAT_KINDS = [
    k for k in os.environ.get("O2C_CHAT_KINDS", "escalation,model,integration").split(",") if k
]
# Tries of one message before it is marked failed (and an integration alert raised), and the first
# retry's wait in seconds; each later wait doubles, up to 15 minutes.
O2C_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("O2C_NOTIFY_MAX_ATTEMPTS", "6"))
O2C_NOTIFY_RETRY_SECONDS = float(os.environ.get("O2C_NOTIFY_RETRY_SECONDS", "30"))
# The hour (in each person's own time zone) from which their daily digest is sent.
O2C_DIGEST_HOUR = int(os.environ.get("O2C_DIGEST_HOUR", "17"))

# --- Celery -----------------------------------------------------------------------------------
# The embedded default is kombu's filesystem transport: a real worker and beat, no server needed.
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # kombu keeps its exchange tables in ./control unless told otherwise: keep them in data/.
        "control_folder": str(BROKER_DIR / "control"),
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
else:
    # Every countdown and retry backoff stays well below this, so Redis never redelivers a task
    # that is merely waiting for its ETA.
    # A task whose worker died (SIGKILL, OOM) is redelivered once this passes: acks are late.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        # how often a worker sweeps for such abandoned tasks (kombu's default: every 100 s)
        "unacked_restore_interval": int(os.environ.get("CELERY_RESTORE_INTERVAL", "10")),
        "unacked_restore_throttle": 1,
    }
# Work goes to queues by what it does (o2c/queues.py): ingest, billing, outbox, receivables, kpis,
# default. O2C_QUEUE_PREFIX gives a run its own set on a shared broker (the tests use one each).
O2C_QUEUE_PREFIX = os.environ.get("O2C_QUEUE_PREFIX", "")
CELERY_TASK_DEFAULT_QUEUE = f"{O2C_QUEUE_PREFIX}default"
CELERY_TASK_QUEUES = broker_queues(O2C_QUEUE_PREFIX)
CELERY_TASK_ROUTES = ("o2c.queues.route_task",)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 150
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep Django's LOGGING (JSON lines with correlation ids) in worker processes too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection around every task unless told to reuse
# it, ignoring CONN_MAX_AGE: each task then paid a new PostgreSQL backend (fork, login, catalog
# caches warmed again). Reuse is left to Django's own rule instead, as for a web request:
# o2c.celery recycles a connection that is unusable, broken or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1_000_000

#: How often each worker reports itself to the worker list (o2c/workers.py); the silence after
#: which it is alerted on is the integration policy's, in admin.
O2C_WORKER_REPORT_SECONDS = float(os.environ.get("O2C_WORKER_REPORT_SECONDS", "15"))

#: Readiness fails when beat has sent no scheduled task for this long (the heartbeat goes every
#: 30 s): a desk without beat invoices, escalates and relays nothing.
O2C_BEAT_MAX_AGE_SECONDS = int(os.environ.get("O2C_BEAT_MAX_AGE_SECONDS", "300"))

#: Who may read /metrics: these client addresses (REMOTE_ADDR), or anyone sending
#: "Authorization: Bearer <O2C_METRICS_TOKEN>" when a token is set. Anyone else gets a 403.
O2C_METRICS_ALLOWED_IPS = env_list("O2C_METRICS_ALLOWED_IPS", "127.0.0.1,::1")
O2C_METRICS_TOKEN = os.environ.get("O2C_METRICS_TOKEN", "")

# --- REST framework --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",  # tokens: admin → Tokens
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # DRF's three defaults, with JSON read under a size and nesting limit (core.jsonlimits).
    "DEFAULT_PARSER_CLASSES": [
        "core.api.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": "1200/min", "anon": "60/min", "webhook": "600/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "o2c API",
    "DESCRIPTION": "Orders, holds, shipments and invoices of the order-to-cash exception desk. "
    "Every action goes through the same services, permissions and maker-checker as the UI.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API's map is for its users: staff with an account (or a token), not the internet.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and Redoc are served from this app (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "orders.models.OrderState",
        "HoldStateEnum": "exceptions.models.HoldState",
        "InvoiceStateEnum": "billing.models.InvoiceState",
        "ShipmentStateEnum": "billing.models.ShipmentState",
        "ReturnStateEnum": "cases.models.ReturnState",
        "CaseStateEnum": "cases.models.CaseState",
        "OrderChannelEnum": "orders.models.order.Channel",
        "WaitingCaseStateEnum": "cases.models.ACTIVE_STATE_CHOICES",
        "ContactChannelEnum": "dunning.models.CONTACT_CHANNELS",
    },
}

# Reasons ("why") can be long: a maker-checker note names both amounts and the analyst's words.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# --- o2c ---------------------------------------------------------------------------------------
# The account that imports, tasks and beat act as, so history always names an author.
O2C_SYSTEM_USERNAME = "o2c-system"
#: Accounts a model version acts as in "act" mode ("o2c-model-hold_outcome-v3"): never active.
O2C_MODEL_USERNAME_PREFIX = "o2c-model-"
O2C_PAGE_SIZE = 50
#: How long a message waiting for its order (a shipment before the release) stays parked before
#: it raises an integration hold (or, for an order never seen, becomes a dead letter).
O2C_PARK_HOURS = float(os.environ.get("O2C_PARK_HOURS", "4"))
#: Order messages applied per transaction by the batch import path.
O2C_ORDER_CHUNK = int(os.environ.get("O2C_ORDER_CHUNK", "500"))
#: The time zone pages and CSV exports show times in for a person who has not chosen one (their
#: own is under Preferences, beside their name). Business days (invoice dates, billing windows,
#: the dashboard's days) are TIME_ZONE's, whoever is reading.
O2C_DEFAULT_TIME_ZONE = os.environ.get("O2C_DEFAULT_TIME_ZONE", "UTC")
try:
    ZoneInfo(O2C_DEFAULT_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(
        f"O2C_DEFAULT_TIME_ZONE={O2C_DEFAULT_TIME_ZONE!r} is not a time zone: use an IANA name "
        "such as UTC or Europe/Berlin."
    ) from exc
# The tax calculator invoicing uses: a dotted path to a class with ``rate_for(customer, on)``.
O2C_TAX_CALCULATOR = os.environ.get("O2C_TAX_CALCULATOR", "billing.tax.RateTableTaxCalculator")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "core.logs.CorrelationFilter"}},
    "formatters": {
        "json": {"()": "core.logs.JsonFormatter"},
        "plain": {
            "()": "core.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": os.environ.get("LOG_FORMAT", "json"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # axes logs every login and cleanup at INFO; lockouts (WARNING) are what matters
        "axes": {"level": "WARNING"},
    },
}

# --- Error tracking (sentry-sdk) ---------------------------------------------------------------
# Off unless SENTRY_DSN is set, in any settings module: no event leaves the process otherwise.
# SENTRY_ENVIRONMENT, SENTRY_RELEASE and SENTRY_TRACES_SAMPLE_RATE are read by o2c/error_tracking.py.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "").strip()
if SENTRY_DSN:
    from ..error_tracking import init as init_error_tracking

    init_error_tracking(SENTRY_DSN)
