from django.contrib import admin

from apps.analytics.models import AnalyticsSettings


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(admin.ModelAdmin[AnalyticsSettings]):
    list_display = ("workspace", "time_zone", "resolution_window_hours", "durable_window_days")
