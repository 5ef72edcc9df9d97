from django.apps import AppConfig


class DialogueConfig(AppConfig):
    name = "apps.dialogue"
    label = "dialogue"
    verbose_name = "Dialogue"
