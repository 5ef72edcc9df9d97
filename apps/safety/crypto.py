"""Encryption of redacted originals, and the secret that keys placeholder maps.

Keys come from ``PII_ENCRYPTION_KEYS`` (comma-separated Fernet keys, newest first: older ones
still decrypt, so keys can be rotated). The embedded default makes one under ``var/`` on first
use; production refuses to start without the variable.
"""

import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "placeholder_secret"]


@functools.cache
def _fernet() -> MultiFernet:
    keys = settings.PII_ENCRYPTION_KEYS
    if not keys:
        raise RuntimeError("PII_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(text: str) -> bytes:
    return _fernet().encrypt(text.encode())


def decrypt(token: bytes) -> str:
    return _fernet().decrypt(bytes(token)).decode()


@functools.cache
def placeholder_secret() -> bytes:
    """Keys value -> placeholder maps (HMAC); derived from the newest encryption key."""
    newest = settings.PII_ENCRYPTION_KEYS[0].encode()
    return hashlib.sha256(b"cs-platform/pii-placeholders/" + newest).digest()
