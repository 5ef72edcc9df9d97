"""Refuses oversized API bodies before anything reads them.

Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when ``request.body`` is read; DRF's parsers read the
stream directly, so the limit is enforced here from Content-Length.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.errors import json_error


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(
                request, status=400, code="bad_request", message="Content-Length is not a number."
            )
        if limit is not None and length > limit:
            return json_error(
                request,
                status=413,
                code="payload_too_large",
                message=f"Request body is {length} bytes; the limit is {limit} bytes.",
            )
        return self.get_response(request)
