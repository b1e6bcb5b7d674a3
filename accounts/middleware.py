"""Two-factor enforcement and the Permissions-Policy header."""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from .two_factor import has_device, must_use_two_factor

# Pages a signed-in person may reach before finishing two-factor: the two-factor pages
# themselves, signing out, and password reset.
NO_DEVICE_KEY = "two_factor_no_device"
OPEN_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/accounts/password-reset/")


def two_factor(get_response):
    """After the password, someone with a confirmed authenticator must enter a code before
    any other page; when TWO_FACTOR_REQUIRED is on, hub staff without one must set it up.

    Runs after django-otp's OTPMiddleware, which gives ``user.is_verified()``.
    """

    def middleware(request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path_info.startswith(OPEN_PREFIXES)
            and not request.path_info.startswith(settings.STATIC_URL)
        ):
            if request.session.get(NO_DEVICE_KEY) != user.pk:
                if has_device(user):
                    return _redirect_with_next("two_factor_verify", request)
                # Normally settled at sign-in (check_for_device); then remembered for the
                # session. A device confirmed in this session verifies it; one confirmed
                # elsewhere applies from the next sign-in.
                request.session[NO_DEVICE_KEY] = user.pk
            if must_use_two_factor(user):
                return _redirect_with_next("two_factor_setup", request)
        return get_response(request)

    return middleware


def check_for_device(sender, request, user, **kwargs):
    """On user_logged_in: look once for an authenticator, so the pages after need not."""
    if request is None or not hasattr(request, "session"):
        return
    if has_device(user):
        request.session.pop(NO_DEVICE_KEY, None)
    else:
        request.session[NO_DEVICE_KEY] = user.pk


def _redirect_with_next(url_name, request):
    url = reverse(url_name)
    if request.method == "GET":
        url += "?" + urlencode({"next": request.get_full_path()})
    return redirect(url)


def permissions_policy(get_response):
    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware
