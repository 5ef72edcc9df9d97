"""The embedded default: one process on a laptop, no variable to set.

Any service URL from ``base`` (DATABASE_URL, REDIS_URL, ...) still switches to the real service.
"""

from cs_platform.settings.base import *  # noqa: F403
from cs_platform.settings.base import PII_ENCRYPTION_KEYS, STATIC_ROOT, VAR_DIR, env

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A fixed development key: this module is never used in production (see production.py).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="embedded-default-not-for-production-" + "x" * 20)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
DEMO_PAGES_ENABLED = env.bool("DEMO_PAGES_ENABLED", default=True)
# Serve static files straight from frontend/static without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The embedded default keeps its own encryption key for redacted originals under var/.
if not PII_ENCRYPTION_KEYS:
    _key_file = VAR_DIR / "pii-encryption.key"
    if not _key_file.exists():
        from cryptography.fernet import Fernet

        _key_file.write_bytes(Fernet.generate_key())
        _key_file.chmod(0o600)
    PII_ENCRYPTION_KEYS = [_key_file.read_text().strip()]
