"""The one place WeasyPrint is called.

Reports carry text typed by users. WeasyPrint, left to its defaults, fetches whatever a
document points at: stylesheets, ``@import``, images, ``<object>``/``<embed>``, SVG
``<image>``, attachment links, and URLs resolved against a ``<base href="file:...">``,
copying local files or internal web pages into the PDF. Templates escape user text, and
this wrapper is the second wall: its fetcher answers ``data:`` URLs and the app's own
listed static files, refuses everything else, and follows no redirect.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.contrib.staticfiles import finders
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

# Documents are rendered against this base; nothing real answers it.
BASE_URL = "https://app-static.invalid/static/"
# The static files a report may use, by the URL it names them with.
ALLOWED_STATIC = {
    BASE_URL + "reporting/report.css": ("reporting/report.css", "text/css"),
}


class RefusedURL(ValueError):
    """A document asked for something outside the allow-list."""


class AppOnlyFetcher(URLFetcher):
    def __init__(self):
        super().__init__(timeout=1, allowed_protocols={"data"}, allow_redirects=False)

    def fetch(self, url, headers=None):
        if url in ALLOWED_STATIC:
            name, content_type = ALLOWED_STATIC[url]
            path = finders.find(name)
            if not path:
                raise RefusedURL(f"static file {name} is missing")
            return URLFetcherResponse(
                url, body=Path(path).read_bytes(), headers={"Content-Type": content_type}
            )
        if url.lower().startswith("data:"):
            return super().fetch(url, headers)
        logger.warning("PDF renderer refused to fetch %.200s", url)
        raise RefusedURL("the PDF renderer fetches only the app's own static files")


def html_to_pdf(html: str) -> bytes:
    """Render trusted template output (with escaped user text) to PDF bytes."""
    return HTML(string=html, base_url=BASE_URL, url_fetcher=AppOnlyFetcher()).write_pdf()
