from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.forms import ThrottledAdminAuthenticationForm
from apps.accounts.models import CustomerSession, Membership, User, Workspace

# Password guessing on the admin site is throttled like every other sign-in.
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(User)
class CsUserAdmin(UserAdmin):  # type: ignore[type-arg]
    pass


class MembershipInline(admin.TabularInline[Membership, Workspace]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin[Workspace]):
    list_display = ("name", "slug", "language", "retention_days", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("public_key", "created_at")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role", "workspace")
    raw_id_fields = ("user",)


@admin.register(CustomerSession)
class CustomerSessionAdmin(admin.ModelAdmin[CustomerSession]):
    list_display = ("id", "workspace", "origin", "created_at", "last_seen_at")
    list_filter = ("workspace",)
    readonly_fields = ("created_at", "last_seen_at")
