"""Sign-in forms of the admin site and the console, throttled (see ``signin``)."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts.signin import (
    SigninLocked,
    client_ip,
    signin_failure_record,
    signin_lockout_check,
    signin_success_record,
)

THROTTLED = "throttled"


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        ip = client_ip(self.request.META if self.request else {})
        try:
            signin_lockout_check(username=username, ip=ip)
        except SigninLocked as exc:
            raise forms.ValidationError(exc.message, code=THROTTLED) from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            signin_failure_record(username=username, ip=ip)
            raise
        signin_success_record(username=username)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    pass
