from django.apps import AppConfig


class MlopsConfig(AppConfig):
    name = "apps.mlops"
    label = "mlops"
    default_auto_field = "django.db.models.BigAutoField"
