"""HTTP routes: the admin, the versioned API with its schema, health probes and the pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.accounts import views as accounts_views
from apps.core import views as core_views

api_v1 = [
    path("", include("apps.accounts.urls")),
    path("", include("apps.chat.urls")),
    path("", include("apps.safety.urls")),
    path("", include("apps.knowledge.urls")),
    path("", include("apps.nlu.urls")),
    path("", include("apps.dialogue.urls")),
    path("", include("apps.analytics.urls")),
    path("", include("apps.review.urls")),
    path("", include("apps.mlops.urls")),
]

urlpatterns = [
    # The sign-in pages, throttled (429 when locked out), ahead of the admin's and auth's own.
    path("admin/login/", accounts_views.admin_login),
    path("accounts/login/", accounts_views.console_login, name="login"),
    path("invitations/<str:token>/", accounts_views.invitation_page, name="invitation-page"),
    path("demo/", accounts_views.demo_page, name="demo"),
    path("demo/<slug:workspace_slug>/", accounts_views.demo_page, name="demo-workspace"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("apps.chat.page_urls")),
    path("", include("apps.knowledge.page_urls")),
    path("", include("apps.analytics.page_urls")),
    path("", include("apps.review.page_urls")),
    path("", include("apps.core.urls")),
]

handler400 = "apps.core.views.error_400"
handler403 = "apps.core.views.error_403"
handler404 = "apps.core.views.error_404"
handler500 = "apps.core.views.error_500"
