from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "apps.safety"
    label = "safety"
    verbose_name = "Safety"

    def ready(self) -> None:
        from apps.chat import hooks as chat
        from apps.safety import services

        chat.inbound_redact.connect(services.inbound_redact)
        chat.customer_text_redact.connect(services.customer_text_redact)
        chat.message_original_store.connect(services.message_original_store)
