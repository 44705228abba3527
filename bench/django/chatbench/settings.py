"""Settings of the bench's Django Channels target: production-style (DEBUG off, no request
logging, no middleware the API does not use), Django ORM on one SQLite file, channels_redis
as the channel layer. Everything that varies per run comes from the environment the bench
(bench/src/django.rs) starts Daphne with:

  BENCH_DB               the SQLite file (fresh per round, migrated before Daphne starts)
  BENCH_REDIS_PORT       the redis-server the bench started for this round (127.0.0.1)
  JWT_SECRET, API_KEY    the same secrets the service gets from .dev.vars
  BENCH_CHANNEL_CAPACITY optional: channels_redis `capacity` (unset: the library default, 100)
"""
import os
import secrets

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# "channels" for the consumer machinery; "chat" holds the models, consumer and views.
INSTALLED_APPS = ["channels", "chat"]
# Bearer-key API and token-authenticated sockets: no sessions, auth, CSRF or messages
# middleware, as an API-only deployment would run.
MIDDLEWARE = []
ROOT_URLCONF = "chatbench.urls"
ASGI_APPLICATION = "chatbench.asgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", "bench.sqlite3"),
        # Django's default, and what its docs ask for under ASGI: every request runs its ORM
        # calls in a thread of its own, so a kept connection would outlive its thread (with
        # 600 here, Daphne piled up open SQLite files). Consumers reopen the file per
        # database_sync_to_async call (~0.1 ms, against ~1 ms per 500-socket broadcast).
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            # The usual production SQLite tuning (Django >= 5.1): WAL, fsync at checkpoints
            # rather than at every commit, and write transactions that take the lock up front.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        },
    }
}

_layer = {"hosts": [("127.0.0.1", int(os.environ.get("BENCH_REDIS_PORT", "6379")))]}
if os.environ.get("BENCH_CHANNEL_CAPACITY"):
    _layer["capacity"] = int(os.environ["BENCH_CHANNEL_CAPACITY"])
CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": _layer},
}

JWT_SECRET = os.environ.get("JWT_SECRET", "")
API_KEYS = [k.strip() for k in os.environ.get("API_KEY", "").split(",") if k.strip()]

# Warnings and errors only, to stderr (Daphne runs with -v 0: no access log either).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # BENCH_LAYER_LOG=INFO shows channels_redis's "N of M channels over capacity" (debugging).
    "loggers": {"channels_redis": {"level": os.environ.get("BENCH_LAYER_LOG", "WARNING")}},
}
