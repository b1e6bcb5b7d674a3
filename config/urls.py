from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from trust import views as trust_views
from trust.forms import EmailAuthenticationForm

urlpatterns = [
    path("healthz", trust_views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("brokerage.urls")),
    path("", include("deployments.urls")),
    path("", include("trust.urls")),
    path("", include("reporting.urls")),
]
