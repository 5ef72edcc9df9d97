"""Errors that services raise; the API layer turns them into 4xx responses with a message."""

from typing import Any


class ApplicationError(Exception):
    """A request that the business rules refuse. ``status`` is the HTTP status the API answers."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra or {}


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class Forbidden(ApplicationError):
    status = 403
    code = "forbidden"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class Unauthorized(ApplicationError):
    status = 401
    code = "unauthorized"


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"
