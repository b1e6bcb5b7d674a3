"""Two-factor set-up, the second sign-in step, password reset and CSRF recovery."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .forms import CodeForm
from .lockout import normalise_username
from .two_factor import (
    has_device,
    must_use_two_factor,
    pending_device,
    qr_data_uri,
    secret_for_humans,
)


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Turn two-factor sign-in on (QR code, secret, confirm with a code) or see that it is on."""
    user = request.user
    if has_device(user):
        if not user.is_verified():
            return redirect("two_factor_verify")
        return render(
            request,
            "registration/two_factor_on.html",
            {"form": CodeForm(devices=[]), "required": must_use_two_factor(user)},
        )
    device = pending_device(user)
    form = CodeForm(request.POST or None, devices=[device])
    if request.method == "POST" and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        otp_login(request, device)
        messages.success(
            request, "Two-factor sign-in is on. You will be asked for a code when you sign in."
        )
        return redirect(_next_url(request))
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "qr_code": qr_data_uri(device.config_url),
            "secret": secret_for_humans(device),
            "required": must_use_two_factor(user),
            "next": _next_url(request),
            # Someone who must set it up sees no menu: none of it opens until they do.
            "two_factor_pending": must_use_two_factor(user),
        },
    )


@never_cache
@login_required
@require_POST
def two_factor_remove(request):
    """Turn two-factor sign-in off; a current code proves the phone is still in hand."""
    user = request.user
    devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    form = CodeForm(request.POST, devices=devices)
    if not form.is_valid():
        return render(
            request,
            "registration/two_factor_on.html",
            {"form": form, "required": must_use_two_factor(user)},
            status=400,
        )
    TOTPDevice.objects.filter(user=user).delete()
    if must_use_two_factor(user):
        messages.info(
            request, "Two-factor sign-in is off. Your role needs it: set up your new phone now."
        )
    else:
        messages.success(request, "Two-factor sign-in is off.")
    return redirect("two_factor_setup")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The second step of signing in for anyone with an authenticator set up."""
    user = request.user
    if user.is_verified() or not has_device(user):
        return redirect(_next_url(request))
    form = CodeForm(
        request.POST or None, devices=TOTPDevice.objects.filter(user=user, confirmed=True)
    )
    if request.method == "POST" and form.is_valid():
        otp_login(request, form.device)
        return redirect(_next_url(request))
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": _next_url(request), "two_factor_pending": True},
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Links in the email use SITE_URL, never the Host header of whoever asked."""

    def form_valid(self, form):
        self.extra_email_context = {"site_url": settings.SITE_URL.rstrip("/")}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        # A new password lifts a sign-in lockout: the lockout page sends people here.
        axes_reset(username=normalise_username(self.user.email))
        return response


# ------------------------------------------------------------------------------ CSRF

# Posted fields never shown back or sent again: secrets and the stale token itself.
HIDDEN_WORDS = ("password", "token", "secret", "csrf")
HIDDEN_NAMES = {"code", "otp"}


def _kept_fields(request) -> list[tuple[str, list[str]]]:
    kept = []
    for name, values in request.POST.lists():
        lowered = name.lower()
        if lowered in HIDDEN_NAMES or any(word in lowered for word in HIDDEN_WORDS):
            continue
        kept.append((name, values))
    return kept


def _came_from_here(request) -> bool:
    """True when the browser says the form was on one of this site's pages."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return "://" in source and url_has_allowed_host_and_scheme(
        source, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def csrf_failure(request, reason=""):
    """Settings' CSRF_FAILURE_VIEW: a form that was open too long (or whose session ended)
    keeps what was typed. The page shows the posted values (escaped; never passwords,
    codes, tokens or files) and, for someone signed in whose form was on this site, offers
    to send them again to the same address with a fresh token."""
    fields = _kept_fields(request)
    can_resend = bool(
        fields
        and request.method == "POST"
        and request.user.is_authenticated
        and _came_from_here(request)
    )
    get_token(request)  # a fresh token, and a cookie for it
    return render(
        request,
        "registration/csrf_failure.html",
        {
            "fields": fields,
            "can_resend": can_resend,
            "files_dropped": bool(request.FILES),
            "action": request.path,
        },
        status=403,
    )
