"""How django-axes counts failed sign-ins here (settings: AXES_*, LOGIN_FAILURES_PER_ACCOUNT)."""

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


def normalise_username(value) -> str:
    """Emails are matched whatever their case, so FRED@x and fred@x count as one account."""
    return str(value or "").strip().lower()[:255]


def username_from_request(request, credentials=None) -> str:
    if credentials and settings.AXES_USERNAME_FORM_FIELD in credentials:
        return normalise_username(credentials[settings.AXES_USERNAME_FORM_FIELD])
    data = getattr(request, "POST", {}) if request is not None else {}
    return normalise_username(data.get(settings.AXES_USERNAME_FORM_FIELD))


class LoginAttemptHandler(AxesDatabaseHandler):
    """Two thresholds instead of django-axes' one.

    AXES_LOCKOUT_PARAMETERS lists (account, address) first and the account alone second.
    The pair locks at AXES_FAILURE_LIMIT; the account alone, counted over every address,
    locks at LOGIN_FAILURES_PER_ACCOUNT. So one person mistyping at a school whose staff
    share an address does not lock their colleagues out, and an attacker who rotates
    addresses still gets only LOGIN_FAILURES_PER_ACCOUNT guesses per cool-off period.
    """

    def get_failures(self, request, credentials=None) -> int:
        pair, account = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if account >= settings.LOGIN_FAILURES_PER_ACCOUNT:
            return max(pair, settings.AXES_FAILURE_LIMIT)
        return pair


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page's own look, saying why and for how long, with the way out."""
    from django.shortcuts import render

    return render(
        request,
        "registration/locked_out.html",
        {"minutes": settings.AXES_COOLOFF_MINUTES},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
