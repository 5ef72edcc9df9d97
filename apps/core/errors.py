"""One error shape for every API response that is not a success.

{"error": {"code": "invalid", "message": "...", "fields": {"name": ["..."]}}}
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.core.exceptions import ApplicationError


def error_body(*, code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "fields": {"type": "object", "description": "Errors per input field."},
        },
        "required": ["code", "message"],
    }
)
class _ErrorField(serializers.JSONField):
    pass


class ErrorOutput(serializers.Serializer[None]):
    """The body of every error response (for the API schema)."""

    error = _ErrorField()


def _first_error(errors: Any) -> str:
    while isinstance(errors, (list, dict)) and errors:
        errors = errors[0] if isinstance(errors, list) else next(iter(errors.values()))
    return str(errors) if errors else ""


def _fields_and_message(detail: Any) -> tuple[dict[str, Any] | None, str]:
    """Field errors as DRF gives them, and one readable sentence naming the first of them."""
    if isinstance(detail, dict):
        first_field = next(iter(detail), "")
        first = _first_error(detail.get(first_field))
        label = "" if first_field in ("non_field_errors", "__all__") else f"{first_field}: "
        return detail, f"{label}{first}" if first else "Invalid input."
    return None, _first_error(detail) or "Invalid input."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body = error_body(code=exc.code, message=exc.message, fields=exc.extra or None)
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, drf_exceptions.APIException)
    if isinstance(exc, drf_exceptions.ValidationError):
        fields, message = _fields_and_message(response.data)
        response.data = error_body(code="invalid", message=message, fields=fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(code=str(code), message=str(exc.detail))
    return response


def json_error(request: HttpRequest, *, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message), status=status)


def validation_message(exc: DjangoValidationError) -> str:
    """One sentence for a Django ValidationError (for error events on a socket)."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    return _fields_and_message(detail)[1]
