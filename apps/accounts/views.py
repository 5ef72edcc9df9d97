"""The sign-in pages: Django's own, with throttled forms; a locked-out attempt answers 429."""

from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import Form
from django.http import HttpRequest, HttpResponseBase

from apps.accounts.forms import THROTTLED, ThrottledAuthenticationForm


def _answer_429_when_locked(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    def wrapped(request: HttpRequest) -> HttpResponseBase:
        response = view(request)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if isinstance(form, Form) and form.has_error(NON_FIELD_ERRORS, code=THROTTLED):
            response.status_code = 429
        return response

    return wrapped


console_login = _answer_429_when_locked(
    LoginView.as_view(authentication_form=ThrottledAuthenticationForm)
)
# The admin site's own login view, with its throttled form (set in apps/accounts/admin.py).
admin_login = _answer_429_when_locked(admin.site.login)
