from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "trust"
    verbose_name = "Organisations and people"

    def ready(self):
        from . import audit  # noqa: F401  (connects the sign-in signals)
