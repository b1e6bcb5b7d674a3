"""Report PDFs must not copy local files or internal web pages into themselves.

WeasyPrint, with its default URL fetcher, fetches whatever a document points at. A report
carries text typed by users, so there are two walls, and each is tested on its own:

1. templates escape user text, so a payload typed into a narrative field reaches the PDF
   as visible text, never as markup (tested end to end through the services and the task);
2. ``reporting.pdf.html_to_pdf`` is the only WeasyPrint call, and its fetcher answers only
   ``data:`` URLs and the app's listed static files, following no redirect (tested by
   feeding it every payload raw, unescaped).

The trap: a directory of canary files (text, a stylesheet that would print the canary, an
SVG and an HTML page that show it) and an HTTP listener on 127.0.0.1 that serves the same
and records every request. A leak shows as the canary in the PDF's text or streams, an
attachment, or a request. The control test renders the same payloads with plain
WeasyPrint and shows those checks do catch a leak.
"""

from __future__ import annotations

import base64
import io
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote
from urllib.request import HTTPRedirectHandler

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pypdf import PdfReader
from pypdf.generic import IndirectObject, StreamObject
from weasyprint import HTML

from reporting import services
from reporting.models import NARRATIVE_MAX, ImpactReport, ReportFile
from reporting.pdf import ALLOWED_STATIC, BASE_URL, AppOnlyFetcher, RefusedURL, html_to_pdf
from reporting.tests.factories import NARRATIVE, drafted_report

# --------------------------------------------------------------------------- the trap


@dataclass
class Trap:
    secret: str
    folder: Path
    http: str = ""
    requests: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        """The folder as a file: URL, without a trailing slash."""
        return self.folder.as_uri()


def _trap_files(secret: str) -> dict[str, tuple[bytes, str]]:
    """name -> (body, content type). Each would put the secret into a PDF if used."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40">'
        f'<text id="t" x="0" y="30" font-size="20">{secret}</text></svg>'
    )
    css = (
        f'body::before {{ content: "{secret}"; }}\n'
        f'html::after {{ content: "{secret}"; }}\n'
        f'@page {{ @top-center {{ content: "{secret}"; }} }}\n'
    )
    html = f"<!doctype html><html><body><p>{secret}</p></body></html>"
    return {
        "canary.txt": (f"{secret}\n".encode(), "text/plain"),
        "canary.css": (css.encode(), "text/css"),
        "canary.svg": (svg.encode(), "image/svg+xml"),
        "canary.html": (html.encode(), "text/html"),
    }


@pytest.fixture
def trap(tmp_path):
    # Letters and hex only, so text extraction cannot split or alter it.
    secret = "CANARY" + secrets.token_hex(8).upper()
    folder = tmp_path / "trap"
    folder.mkdir()
    files = _trap_files(secret)
    for name, (body, _) in files.items():
        (folder / name).write_bytes(body)
    result = Trap(secret=secret, folder=folder)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            result.requests.append(self.path)
            name = self.path.split("?")[0].lstrip("/")
            if name.startswith("redirect-file"):
                # To the canary on disk (urllib refuses that hop; it is here to be tried).
                self.send_response(302)
                self.send_header(
                    "Location", f"{result.file}/{name.removeprefix('redirect-file-')}"
                )
                self.end_headers()
            elif name.startswith("redirect-"):
                self.send_response(302)
                self.send_header("Location", f"/{name.removeprefix('redirect-')}")
                self.end_headers()
            elif name in files:
                body, content_type = files[name]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        do_POST = do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    result.http = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield result
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------- payloads


def _data_url(mime: str, text: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(text.encode()).decode()}"


def _svg_pointing_at(url: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="400" height="40"><image xlink:href="{url}" width="400" height="40"/></svg>'
    )


# Each builds raw HTML from the trap; each points at the canary on disk or the listener.
PAYLOADS = {
    "attachment-link-file": lambda t: f'<a rel="attachment" href="{t.file}/canary.txt">a</a>',
    "attachment-link-http": lambda t: f'<a rel="attachment" href="{t.http}/canary.txt">a</a>',
    "attachment-head-link": lambda t: f'<link rel="attachment" href="{t.file}/canary.txt">',
    "stylesheet-file": lambda t: f'<link rel="stylesheet" href="{t.file}/canary.css">',
    "stylesheet-http": lambda t: f'<link rel="stylesheet" href="{t.http}/canary.css">',
    "stylesheet-file-uppercase-scheme": lambda t: (
        '<link rel="stylesheet" href="FILE:' + t.file.removeprefix("file:") + '/canary.css">'
    ),
    "import-file": lambda t: f'<style>@import url("{t.file}/canary.css");</style>',
    "import-http": lambda t: f"<style>@import '{t.http}/canary.css';</style>",
    "object-file": lambda t: f'<object data="{t.file}/canary.svg" type="image/svg+xml"></object>',
    "object-http": lambda t: f'<object data="{t.http}/canary.html">o</object>',
    "embed-file": lambda t: f'<embed src="{t.file}/canary.svg" type="image/svg+xml">',
    "embed-http": lambda t: f'<embed src="{t.http}/canary.svg">',
    "svg-image-href": lambda t: (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40">'
        f'<image href="{t.file}/canary.svg" width="400" height="40"/></svg>'
    ),
    "svg-image-xlink-href": lambda t: _svg_pointing_at(f"{t.http}/canary.svg"),
    "svg-use": lambda t: (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40">'
        f'<use href="{t.file}/canary.svg#t"/></svg>'
    ),
    "base-href-file": lambda t: (
        f'<base href="{t.file}/"><link rel="stylesheet" href="canary.css">'
        '<a rel="attachment" href="canary.txt">a</a><img src="canary.svg">'
    ),
    "base-href-http": lambda t: (
        f'<base href="{t.http}/"><link rel="stylesheet" href="canary.css">'
        '<a rel="attachment" href="canary.txt">a</a><img src="canary.svg">'
    ),
    "iframe": lambda t: f'<iframe src="{t.http}/canary.html"></iframe>',
    "img-http": lambda t: f'<img src="{t.http}/canary.svg">',
    "img-file-svg": lambda t: f'<img src="{t.file}/canary.svg">',
    "style-attribute-url": lambda t: (
        f'<div style="background-image: url({t.http}/canary.svg); width: 400px; height: 40px">'
        "</div>"
    ),
    "css-content-url": lambda t: (
        f'<style>h1::after {{ content: url("{t.file}/canary.svg"); }}</style>'
    ),
    "font-face": lambda t: (
        f"<style>@font-face {{ font-family: trap; src: url({t.http}/canary.txt); }}</style>"
        '<p style="font-family: trap">f</p>'
    ),
    "redirect-http": lambda t: f'<link rel="stylesheet" href="{t.http}/redirect-canary.css">',
    "redirect-to-file": lambda t: f'<img src="{t.http}/redirect-file-canary.svg">',
    # data: URLs are allowed, so what they point at must still be refused.
    "data-css-importing-file": lambda t: (
        '<link rel="stylesheet" href="'
        + _data_url("text/css", f'@import url("{t.file}/canary.css");')
        + '">'
    ),
    "data-svg-image-pointing-at-http": lambda t: (
        '<img src="' + _data_url("image/svg+xml", _svg_pointing_at(f"{t.http}/canary.svg")) + '">'
    ),
}


# ------------------------------------------------------------------ reading a PDF


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def body_text(data: bytes) -> str:
    """The text inside the pages' margins, in reading order: top to bottom, left to right.
    The running headers and page numbers that a page break puts between two lines of a
    paragraph are left out, and so is the order in which floats happen to be painted."""
    pieces = []
    for number, page in enumerate(PdfReader(io.BytesIO(data)).pages):

        def keep(text, cm, tm, font, size, number=number):
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]  # the baseline, in points from the foot
            if 45 < y < 790:  # A4 is 842pt tall; report.css leaves 22mm on top, 20mm below
                pieces.append((number, -round(y), x, text))

        page.extract_text(visitor_text=keep)
    return "".join(text for *_, text in sorted(pieces))


def squeeze(text: str) -> str:
    """Text without whitespace: PDF extraction breaks and joins lines as it wraps them."""
    return "".join(text.split())


def leaks(data: bytes, trap: Trap) -> list[str]:
    """Every sign that the PDF or its rendering reached the trap; empty when clean."""
    found = []
    reader = PdfReader(io.BytesIO(data))
    text = pdf_text(data)
    if trap.secret in text or trap.secret in squeeze(text):
        found.append("canary in the text")
    if reader.attachments:
        found.append(f"attachments {sorted(reader.attachments)}")
    names = reader.trailer["/Root"].get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        found.append("/EmbeddedFiles in the catalog")
    for number, page in enumerate(reader.pages, 1):
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append(f"file attachment annotation on page {number}")
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(IndirectObject(number, 0, reader))
        if isinstance(obj, StreamObject):
            if obj.get("/Type") == "/EmbeddedFile":
                found.append(f"embedded file stream {number}")
            if trap.secret.encode() in obj.get_data():
                found.append(f"canary in stream {number}")
    if trap.requests:
        found.append(f"requests to the listener {trap.requests}")
    return found


# ----------------------------------------------------- wall 1: escaping, end to end


@pytest.fixture
def eager_tasks():
    """Run the PDF task in-process, as the test settings do without a broker."""
    from config.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def test_payloads_typed_into_every_field_print_as_text_and_fetch_nothing(
    commission,
    leader,
    trust_lead,
    qa_lead,
    trap,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    payloads = "\n".join(build(trap) for build in PAYLOADS.values())
    assert len(payloads) < NARRATIVE_MAX
    narrative = {name: f"{name} says:\n{payloads}" for name in ImpactReport.SECTIONS}
    report = drafted_report(commission, leader, **narrative)

    # The template escapes: no payload survives as markup in the HTML given to WeasyPrint.
    state = services._pdf_state(report)
    state["figures"] = {"narrative": list(narrative.items())}
    html = services.render_html(report, state)
    assert html.count("<link ") == 1  # the report's own stylesheet
    for tag in ("<a ", "<style", "<object", "<embed", "<svg", "<image", "<base", "<iframe"):
        assert tag not in html, tag
    assert "&lt;link rel=&quot;stylesheet&quot;" in html

    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_submit(report=report, actor=trust_lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_approve(
            report=report,
            actor=qa_lead,
            impact="strong",
            value_for_money="good",
            comments=payloads,
        )

    files = list(ReportFile.objects.filter(report=report).order_by("version"))
    assert [f.version for f in files] == [1, 2], "both PDFs were made"
    for report_file in files:
        with report_file.file.open("rb") as handle:
            data = handle.read()
        assert leaks(data, trap) == []
        text = squeeze(body_text(data))
        # Each payload is printed, literally, in each of the five sections (and the QA
        # comments on the approved version): escaped, so shown rather than obeyed.
        sections = len(ImpactReport.SECTIONS) + (report_file.version == 2)
        for name, build in PAYLOADS.items():
            assert text.count(squeeze(build(trap))) == sections, name
        assert text.count(squeeze('rel="attachment"')) >= 3 * sections
        # The report's own stylesheet still applies: its page footer is there.
        assert "Page 1 of" in pdf_text(data)


# ------------------------------------------------- wall 2: the wrapper, raw HTML


def _document(body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        f"<body><h1>Report</h1>{body}<p>End of report.</p></body></html>"
    )


@pytest.mark.parametrize("name", PAYLOADS)
def test_the_wrapper_fetches_nothing_a_raw_payload_points_at(name, trap):
    data = html_to_pdf(_document(PAYLOADS[name](trap)))
    assert "End of report." in pdf_text(data), "the document itself still renders"
    assert leaks(data, trap) == []


# What each payload does through WeasyPrint's default fetcher: a sign ``leaks`` reports.
DEFAULT_LEAK = {
    "attachment-link-file": "file attachment annotation",
    "attachment-link-http": "file attachment annotation",
    "attachment-head-link": "attachments",
    "stylesheet-file": "canary in the text",
    "stylesheet-http": "canary in the text",
    "stylesheet-file-uppercase-scheme": "canary in the text",
    "import-file": "canary in the text",
    "import-http": "canary in the text",
    "object-file": "canary in the text",
    "object-http": "requests to the listener",
    "embed-file": "canary in the text",
    "embed-http": "canary in the text",
    "svg-image-href": "canary in the text",
    "svg-image-xlink-href": "canary in the text",
    "svg-use": None,  # WeasyPrint 70 does not fetch an external <use>
    "base-href-file": "canary in the text",
    "base-href-http": "canary in the text",
    "iframe": None,  # WeasyPrint 70 does not render <iframe>
    "img-http": "canary in the text",
    "img-file-svg": "canary in the text",
    "style-attribute-url": "requests to the listener",
    "css-content-url": "canary in the text",
    "font-face": "requests to the listener",
    "redirect-http": "canary in the text",
    "redirect-to-file": "requests to the listener",  # urllib refuses the hop to file:
    "data-css-importing-file": "canary in the text",
    "data-svg-image-pointing-at-http": "canary in the text",
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_control_plain_weasyprint_leaks_what_the_wrapper_stops(name, trap):
    """CONTROL, not a test of the app: the same payloads through WeasyPrint's default
    fetcher. Each one (bar two WeasyPrint ignores) must leak here, or the test above
    would pass whatever the wrapper did."""
    data = HTML(string=_document(PAYLOADS[name](trap)), base_url=BASE_URL).write_pdf()
    found = leaks(data, trap)
    sign = DEFAULT_LEAK[name]
    if sign is None:
        assert found == [], "WeasyPrint now fetches this too: name how it leaks"
    else:
        assert any(sign in finding for finding in found), found
    if name == "redirect-http":
        assert trap.requests == ["/redirect-canary.css", "/canary.css"], "it followed"


def test_only_the_wrapper_calls_weasyprint():
    root = Path(__file__).resolve().parents[2]
    callers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not {".venv", "tests", "node_modules"} & set(path.relative_to(root).parts)
        and re.search(r"^\s*(from|import)\s+weasyprint", path.read_text(errors="replace"), re.M)
    )
    assert callers == ["reporting/pdf.py"]


def test_the_fetcher_refuses_before_opening_anything(trap):
    fetcher = AppOnlyFetcher()
    for url in (
        f"{trap.file}/canary.txt",
        f"{trap.http}/canary.txt",
        f"{trap.http}/redirect-canary.txt",
        "https://app-static.invalid/static/reporting/report.css?x",
        "https://app-static.invalid/static/reporting/../../../" + quote(str(trap.folder)),
        "ftp://127.0.0.1/canary.txt",
    ):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert trap.requests == []
    assert not any(isinstance(h, HTTPRedirectHandler) for h in fetcher.handlers)


# ------------------------------------------------------------- what is allowed


def test_the_apps_own_stylesheet_is_fetched_and_applied():
    url = BASE_URL + "reporting/report.css"
    assert url in ALLOWED_STATIC
    response = AppOnlyFetcher().fetch(url)
    assert response.content_type == "text/css"
    assert b"@page" in response.read()

    body = (
        '<h1>Interim report</h1><p class="school">Moorside Primary School</p>'
        '<p class="period">Period 2026-09-01 to 2026-12-31</p>'
    )
    unstyled = pdf_text(html_to_pdf(_document(body)))
    styled = pdf_text(
        html_to_pdf(
            '<!doctype html><html><head><link rel="stylesheet" href="reporting/report.css">'
            f"</head><body>{body}</body></html>"
        )
    )
    # The stylesheet's page margins repeat the headings and number the pages.
    assert unstyled.count("Moorside Primary School") == 1
    assert "Page 1 of 1" not in unstyled
    assert styled.count("Moorside Primary School") == 2
    assert "Page 1 of 1" in styled


def test_data_urls_are_accepted():
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, format="PNG")
    png_url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    svg_url = _data_url(
        "image/svg+xml",
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40">'
        '<text x="0" y="30" font-size="20">DATAURLSHOWN</text></svg>',
    )
    data = html_to_pdf(_document(f'<img src="{png_url}"><img src="{svg_url}">'))
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert len(page.images) == 1
    assert "DATAURLSHOWN" in pdf_text(data)
    assert not PdfReader(io.BytesIO(html_to_pdf(_document("")))).pages[0].images


# ------------------------------------------------------ the narrative's size cap


@pytest.mark.parametrize("name", ImpactReport.SECTIONS)
def test_a_section_over_the_cap_is_refused_by_the_service_and_nothing_changes(
    name, commission, leader
):
    report = drafted_report(commission, leader)
    changes = {other: f"Changed {other}." for other in ImpactReport.SECTIONS}
    with pytest.raises(ValidationError) as refused:
        services.report_save(
            report=report, actor=leader, **{**changes, name: "x" * (NARRATIVE_MAX + 1)}
        )
    assert refused.value.message_dict == {
        name: ["Keep this section to 20,000 characters (it has 20,001)."]
    }
    report.refresh_from_db()
    assert {s: getattr(report, s) for s in ImpactReport.SECTIONS} == NARRATIVE

    services.report_save(report=report, actor=leader, **{name: "x" * NARRATIVE_MAX})
    report.refresh_from_db()
    assert len(getattr(report, name)) == NARRATIVE_MAX


def test_a_section_over_the_cap_is_refused_by_the_form_and_the_text_is_kept(
    client, commission, leader
):
    report = drafted_report(commission, leader)
    long_text = "Too long. " * (NARRATIVE_MAX // 10) + "!"
    posted = {**NARRATIVE, "evidence": long_text, "barriers": "New barriers."}
    client.force_login(leader)
    response = client.post(reverse("reporting:report_edit", args=[report.pk]), posted)
    assert response.status_code == 200
    page = response.content.decode()
    assert "at most 20000 characters (it has 20001)" in page
    # Nothing typed is lost: the page gives back every section as posted, to be cut down.
    assert long_text in page
    assert "New barriers." in page
    report.refresh_from_db()
    assert report.evidence == NARRATIVE["evidence"]
    assert report.barriers == NARRATIVE["barriers"]
