from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    verbose_name = "Commissioning and brokerage"

    def ready(self):
        from . import home_panels

        home_panels.register()
