from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Signing in safely: lockout, two-factor, password reset, CSRF recovery. No models."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .middleware import check_for_device

        user_logged_in.connect(check_for_device, dispatch_uid="accounts.check_for_device")
