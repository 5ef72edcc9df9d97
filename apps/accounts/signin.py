"""Throttles password guessing on every way to sign in (the API token, the admin site, the
console's login page): failures are counted per user name and per client address in the shared
cache, and too many lock that name or address out for a while, the right password included."""

import hashlib
import math

from django.conf import settings

from apps.core.ratelimit import Rate, failure_count, failures_forget, lockout_remaining

_BY_NAME = "signin-name"
_BY_IP = "signin-ip"


class SigninLocked(Exception):
    def __init__(self, retry_after: int):
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed sign-ins; try again in {minutes} {unit}.")
        self.retry_after = retry_after
        self.message = str(self)


def _name_key(username: str) -> str:
    # Case-folded, so "Ann" and "ann" share one count; hashed, so any text makes a cache key.
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()


def signin_lockout_check(*, username: str, ip: str) -> None:
    """Raises SigninLocked while the user name or the address is locked out."""
    remaining = max(
        lockout_remaining(scope=_BY_NAME, key=_name_key(username)),
        lockout_remaining(scope=_BY_IP, key=ip),
    )
    if remaining:
        raise SigninLocked(remaining)


def signin_failure_record(*, username: str, ip: str) -> None:
    lockout = settings.SIGNIN_LOCKOUT_SECONDS
    failure_count(
        scope=_BY_NAME,
        key=_name_key(username),
        rate=Rate.parse(settings.SIGNIN_FAILURES_PER_USERNAME),
        lockout_seconds=lockout,
    )
    failure_count(
        scope=_BY_IP,
        key=ip,
        rate=Rate.parse(settings.SIGNIN_FAILURES_PER_IP),
        lockout_seconds=lockout,
    )


def signin_success_record(*, username: str) -> None:
    """The user name's earlier failures are forgotten (the address's are not)."""
    failures_forget(scope=_BY_NAME, key=_name_key(username))


def client_ip(meta: dict[str, object]) -> str:
    """The peer's address as the server saw it (uvicorn resolves trusted proxies' headers)."""
    return str(meta.get("REMOTE_ADDR") or "unknown")
