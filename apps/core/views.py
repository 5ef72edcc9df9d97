"""Health probes and error pages. API paths get JSON errors, pages get Django's HTML ones."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.errors import json_error
from apps.core.health import readiness_probe


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results = readiness_probe()
    ready = all(result.ok for result in results)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {
            r.name: {
                "ok": r.ok,
                "latency_ms": r.latency_ms,
                **({"error": r.error} if r.error else {}),
            }
            for r in results
        },
    }
    return JsonResponse(body, status=200 if ready else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error(request, status=400, code="bad_request", message="Bad request.")
    return defaults.bad_request(request, exception)


def error_403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error(request, status=403, code="forbidden", message="Permission denied.")
    return defaults.permission_denied(request, exception)


def error_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error(request, status=404, code="not_found", message="No such resource.")
    return defaults.page_not_found(request, exception)


def error_500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error(request, status=500, code="server_error", message="Internal error.")
    return defaults.server_error(request)
