"""Accessibility checks run on every page a browser journey visits.

axe-core (bundled by axe-playwright-python, so no npm in CI) at WCAG 2.0, 2.1 and 2.2 A and
AA, plus what axe cannot judge on its own: one h1, a skip link to the main landmark, no
sideways scrolling at 320 px on pages a phone user sees, and thumb-sized controls there.
Problems are collected across the journey and reported together at the end, so one run
lists every page that needs fixing.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from axe_playwright_python.base import AXE_SCRIPT

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

# Rules we accept a violation of, each with the reason. Keep this empty unless a violation
# is a false positive or outside our control; write the reason down when adding one.
EXCEPTIONS: dict[str, str] = {}

# Controls a thumb has to hit. Links inside running text are left out: WCAG 2.5.8 exempts
# inline targets, and padding them to 44 px would break the line spacing of paragraphs.
TARGETS = """
  main button, main .btn, main summary, main select, main textarea,
  main input:not([type=hidden]):not([type=radio]):not([type=checkbox]),
  main .form-check, main .choice-row label, main .choice-col label,
  header .nav-link, header .navbar-toggler, header button, main .page-link
"""

MEASURE_TARGETS = """(selector) => {
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    if (Math.round(box.height) < 44 || Math.round(box.width) < 44) {
      const name = (el.innerText || el.getAttribute("name") || el.id || "").trim();
      small.push(`${el.tagName.toLowerCase()} "${name.slice(0, 40)}" `
                 + `${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}"""

RUN_AXE = """(tags) => axe.run(document, {
  runOnly: {type: "tag", values: tags},
  resultTypes: ["violations"],
}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
})))"""


@dataclass
class Audit:
    """Call ``check(page, phone=...)`` after each step; ``assert_clean()`` at the end."""

    problems: list[str] = field(default_factory=list)
    violations: dict[str, set[str]] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)

    def check(self, page, *, phone=False):
        page.wait_for_load_state()
        where = urlsplit(page.url).path
        self.pages.append(where)
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(AXE_SCRIPT)
        for violation in page.evaluate(RUN_AXE, TAGS):
            if violation["id"] in EXCEPTIONS:
                continue
            self.violations.setdefault(violation["id"], set()).add(where)
            for node in violation["nodes"]:
                self.problems.append(
                    f"{where}: axe {violation['id']} ({violation['impact']}): "
                    f"{violation['help']} at {node['target']}\n    {node['summary']}"
                )
        h1s = page.locator("h1").count()
        if h1s != 1:
            self.problems.append(f"{where}: {h1s} h1 elements, not one")
        skip = page.locator("a.skip-link[href='#main']")
        if skip.count() != 1 or page.locator("main#main").count() != 1:
            self.problems.append(f"{where}: no skip link to the main landmark")
        if phone:
            self._check_phone(page, where)

    def _check_phone(self, page, where):
        small = page.evaluate(MEASURE_TARGETS, TARGETS)
        if small:
            self.problems.append(f"{where}: targets under 44x44 px: {'; '.join(small)}")
        viewport = page.viewport_size
        page.set_viewport_size({"width": 320, "height": viewport["height"]})
        try:
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 320:
                self.problems.append(f"{where}: scrolls sideways at 320 px ({width} px wide)")
        finally:
            page.set_viewport_size(viewport)

    def assert_clean(self):
        counts = ", ".join(
            f"{rule} on {len(pages)} pages" for rule, pages in self.violations.items()
        )
        message = f"{len(self.problems)} accessibility problems on {len(set(self.pages))} pages"
        if counts:
            message += f" (axe: {counts})"
        assert not self.problems, message + ":\n" + "\n".join(self.problems)
