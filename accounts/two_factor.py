"""Who has and who needs a TOTP authenticator."""

import base64
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from trust.models import HUB_ROLES


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def must_use_two_factor(user) -> bool:
    """Hub coordinators, QA leads and admin staff, when TWO_FACTOR_REQUIRED is on."""
    if not settings.TWO_FACTOR_REQUIRED:
        return False
    return bool(user.is_staff or user.roles & HUB_ROLES)


def pending_device(user) -> TOTPDevice:
    """The unconfirmed device being set up, made once and reused until confirmed, so
    reloading the page does not change the secret under someone mid-way through."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def secret_for_humans(device) -> str:
    """The base32 secret, in groups of four, for typing into an app by hand."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(text: str) -> str:
    """An SVG QR code made here (no outside service), as a data: URI for an <img>."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
