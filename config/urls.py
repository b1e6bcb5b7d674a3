from django.contrib import admin
from django.urls import include, path

from trust import views as trust_views

urlpatterns = [
    path("healthz", trust_views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("brokerage.urls")),
    path("", include("deployments.urls")),
    path("", include("trust.urls")),
    path("", include("reporting.urls")),
]
