from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "apps.feedback"
    label = "feedback"
    verbose_name = "Feedback"

    def ready(self) -> None:
        from apps.chat import hooks as chat
        from apps.feedback import services

        chat.feedback_record.connect(services.feedback_record)
