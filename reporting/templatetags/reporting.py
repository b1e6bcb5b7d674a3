"""Filters for showing a report's figures, which are stored as JSON strings."""

import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def isodate(value: str, fmt: str = "j M Y") -> str:
    """'2026-09-01' shown as '1 Sep 2026'."""
    if not value:
        return ""
    try:
        return date_format(datetime.date.fromisoformat(value), fmt)
    except (TypeError, ValueError):
        return value


@register.filter
def money(value) -> str:
    """'1234.5' shown as '£1,234.50'; a negative amount as '−£20.00'."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError):
        return ""
    sign = "−" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"


@register.simple_tag
def report_charts(fig):
    """``{% report_charts fig as charts %}``: the report's charts (reporting/charts.py)."""
    from reporting.charts import report_charts as build

    return build(fig or {})
