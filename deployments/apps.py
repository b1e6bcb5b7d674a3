from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Deployments and visits"

    def ready(self):
        from . import home_panels

        home_panels.register()
