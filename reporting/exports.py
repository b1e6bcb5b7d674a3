"""Funding-stream return as CSV and Excel (being written)."""

from django.http import Http404


def funding_return_csv(request):
    raise Http404


def funding_return_xlsx(request):
    raise Http404
