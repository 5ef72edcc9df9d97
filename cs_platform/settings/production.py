"""Production: real services, HTTPS, and no default for anything secret.

Refuses to start without DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS.
"""

from django.core.exceptions import ImproperlyConfigured

from cs_platform.settings.base import *  # noqa: F403
from cs_platform.settings.base import env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random string of at least 50 characters in production "
        '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS must list the host names this deployment serves (comma-separated)."
    )

PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[])
if not PII_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "PII_ENCRYPTION_KEYS must hold at least one Fernet key for the originals of redacted "
        'messages (python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())").'
    )

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Probes from the orchestrator talk plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
