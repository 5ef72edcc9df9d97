"""The sign-in pages (Django's own, with throttled forms; a locked-out attempt answers 429), the
page an invitation link leads to, and the demo site that hosts a workspace's widget."""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts import services
from apps.accounts.forms import THROTTLED, ThrottledAuthenticationForm
from apps.accounts.models import Workspace
from apps.core.exceptions import ApplicationError, NotFound


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


class _SignupForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150, label="User name")
    password = forms.CharField(widget=forms.PasswordInput, label="Password")


@require_http_methods(["GET", "POST"])
def invitation_page(request: HttpRequest, token: str) -> HttpResponseBase:
    """Where an invitation's e-mail link leads: accept it signed in, or set up an account."""
    try:
        invitation = services.invitation_get(token=token)
    except NotFound as exc:
        return render(request, "registration/invitation.html", {"error": exc.message}, status=404)
    form = _SignupForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                services.invitation_accept(token=token, user=request.user)
                return redirect(settings.LOGIN_REDIRECT_URL)
            if form.is_valid():
                membership = services.invitation_signup(token=token, **form.cleaned_data)
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(settings.LOGIN_REDIRECT_URL)
        except (ApplicationError, ValidationError) as exc:
            error = exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
    context = {"invitation": invitation, "form": form, "error": error, "token": token}
    return render(request, "registration/invitation.html", context)


def demo_page(request: HttpRequest, workspace_slug: str = "demo") -> HttpResponse:
    """A stand-in for a company's own site: the page a company pastes the widget tag into.

    Only where DEMO_PAGES_ENABLED (the embedded default): in a shared deployment it would tell
    anyone which workspaces exist.
    """
    if not settings.DEMO_PAGES_ENABLED:
        raise Http404("Demo pages are switched off.")
    workspace = Workspace.objects.filter(slug=workspace_slug).first()
    if workspace is None:
        raise Http404(f"No workspace {workspace_slug!r}. Run `python manage.py demo_seed` first.")
    return render(request, "pages/demo.html", {"workspace": workspace})
