"""Settings for the brokerage service, read from the environment.

One module serves every environment; ``DJANGO_ENV`` picks the defaults:

* ``production`` (the default when nothing is set): no DEBUG, ``SECRET_KEY`` and
  ``ALLOWED_HOSTS`` required, secure cookies, HSTS, compressed hashed static files.
* ``development``: DEBUG on, a throwaway secret key, console email.
* ``test``: what pytest uses (set in pytest.ini): fast password hashing, in-memory email.

``DATABASE_URL`` switches from the embedded SQLite file to PostgreSQL, and ``REDIS_URL``
switches Celery from eager mode (tasks run in the web process) to a real broker.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="production")
if DJANGO_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be production, development or test, not {DJANGO_ENV!r}."
    )
IS_PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DEBUG", default=DJANGO_ENV == "development")

if IS_PRODUCTION:
    # No default: a production server without its own secret must not start.
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be set to at least 32 random characters.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the site's host names.")
else:
    SECRET_KEY = env.str("SECRET_KEY", default=f"insecure-{DJANGO_ENV}-key-not-for-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The address people use, for links in emails, e.g. https://brokerage.example.org
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_celery_beat",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "trust",
    "brokerage",
    "deployments",
    "reporting",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "accounts.middleware.permissions_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.two_factor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "trust.context_processors.roles",
                "reporting.context_processors.notifications",
            ],
        },
    },
]

# Database: SQLite file unless DATABASE_URL says otherwise,
# e.g. postgres://postgres@127.0.0.1:5432/brokerage
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock at BEGIN and wait for it, so two saves at once queue up rather
    # than one failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "trust.User"
# django-axes checks every sign-in before the model backend does (it needs the request).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "trust:home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# A session ends after this many seconds without a request (every request extends it):
# two hours unless SESSION_IDLE_SECONDS says otherwise.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=2 * 60 * 60)
SESSION_SAVE_EVERY_REQUEST = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Only production collects static files; elsewhere WhiteNoise serves them from the finders.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles") if IS_PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Report PDFs go through Django's storage API. Local files under MEDIA_ROOT by default (one
# machine, or a shared volume); FILE_STORAGE=s3 puts them in an S3-compatible bucket
# (django-storages), so several web and worker machines share one file store. The bucket is
# private: files are streamed by the app after its permission checks, never linked directly.
FILE_STORAGE = env.str("FILE_STORAGE", default="local")
if FILE_STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured("FILE_STORAGE must be 'local' or 's3'.")
DEFAULT_FILE_STORAGE_BACKEND = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if FILE_STORAGE == "s3":
    DEFAULT_FILE_STORAGE_BACKEND = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "location": env.str("AWS_LOCATION", default="media"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": DEFAULT_FILE_STORAGE_BACKEND,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production WhiteNoise serves straight from the app and project static dirs,
# so neither `make run` nor the browser tests need collectstatic.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: console in development, SMTP from EMAIL_URL in production
# (e.g. smtp+tls://user:password@smtp.example.org:587).
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="smtp://localhost:25" if IS_PRODUCTION else "consolemail://"
)
EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
EMAIL_HOST = EMAIL_CONFIG.get("EMAIL_HOST", "localhost")
EMAIL_PORT = EMAIL_CONFIG.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = EMAIL_CONFIG.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = EMAIL_CONFIG.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = EMAIL_CONFIG.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Support brokerage <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10

# Celery: a real broker when REDIS_URL is set, otherwise tasks run eagerly in-process.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker child that grows past this (KiB) is replaced after its task, so one huge report
# cannot leave the worker bloated; tasks also carry their own soft and hard time limits.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_KB", default=512_000)
CELERY_WORKER_MAX_TASKS_PER_CHILD = 200
# Short timeouts so a stuck or absent Redis can never hang a web request.
BROKER_TIMEOUT_SECONDS = 3
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Days are counted in working hours; DESIGN.md §2.
HOURS_PER_DAY = Decimal(env.str("HOURS_PER_DAY", default="6.5"))

# The cache holds the programme dashboard's figures for a few minutes (they aggregate every
# visit of a hub). Each process's memory by default; with several web machines point
# CACHE_URL at Redis (e.g. redis://redis.internal:6379/1, another database than the broker's)
# so they share one copy. Tests use no cache unless a test turns one on.
CACHES = {
    "default": env.cache(
        "CACHE_URL", default="dummycache://" if DJANGO_ENV == "test" else "locmemcache://"
    )
}
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=300)

# Retention: the notes about a commission (visit summaries and next steps, people met,
# progress notes, the request's description, drafts of reports never approved) are removed
# this many days after the commission ends; figures and approved reports stay. Six years
# (with the leap days) follows the IRMS Information Management Toolkit for Schools for
# contract and grant-funded project records (end of the contract + 6 years), which is the
# Limitation Act 1980 period in which a claim on the contract or the grant can be made.
CLOSED_COMMISSION_NOTES_RETENTION_DAYS = env.int(
    "CLOSED_COMMISSION_NOTES_RETENTION_DAYS", default=6 * 365 + 2
)

# Security. Production behind a TLS-terminating proxy sets SECURE_PROXY_SSL_HEADER.
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if IS_PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content Security Policy (django-csp 4): only this site's own files. No inline script or
# style anywhere (style attributes included), so neither needs 'unsafe-inline'; the QR code
# for two-factor set-up is a data: image made on the server. Known and accepted: in the
# admin, django-celery-beat's periodic-task form has an inline script (it only rewrites the
# crontab help text) and simple-history's history list an inline border style; the policy
# blocks both, and both pages work without them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
# Browser features the service never uses, switched off for every page.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "accelerometer=(), gyroscope=(), magnetometer=()"
)

# Sign-in protection (django-axes). Five failed sign-ins for one account from one address
# lock that pair out; LOGIN_FAILURES_PER_ACCOUNT failures for one account from any mix of
# addresses lock the account, so rotating addresses does not buy more guesses. The lockout
# lifts after AXES_COOLOFF_MINUTES, on a successful password reset, or by an admin
# (`manage.py axes_reset_username EMAIL`).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_HANDLER = "accounts.lockout.LoginAttemptHandler"
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in form's field, holding the email
AXES_USERNAME_CALLABLE = "accounts.lockout.username_from_request"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# The client's address. TRUSTED_PROXY_COUNT is how many reverse proxies of ours stand in
# front of Django: 0 means REMOTE_ADDR is the client and X-Forwarded-For is ignored, so a
# forged header changes nothing. With N proxies the client is the N-th address from the
# right of X-Forwarded-For (each proxy appends the address it saw); anything to its left
# came from the client and is not trusted. django-ipware counts the proxies listed *in* the
# header, which is one fewer than the proxies in front, hence N - 1.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
    AXES_IPWARE_PROXY_COUNT = None
AXES_IPWARE_PROXY_ORDER = "left-most"
IPWARE_STRICT = False  # extra (forged) addresses on the left must not void the header

# Two-factor sign-in (django-otp, TOTP). Anyone may turn it on; when TWO_FACTOR_REQUIRED is
# on, hub coordinators, QA leads and admin staff must set it up before using the service.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=IS_PRODUCTION)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Support brokerage")
# The admin may delete someone's authenticator (a lost phone) but never sees its secret.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

if DJANGO_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not shared-cache memory: the live server's threads then wait for each
        # other's writes as production SQLite would, instead of failing "table is locked".
        import tempfile

        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"brokerage-test-{os.getpid()}.sqlite3")
        }
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
ADMINS = [("Admins", a) for a in env.list("ADMIN_EMAILS", default=[])]
