"""The run's HTML report: every metric and every plot, on one self-contained page."""

import base64
import re
from html.parser import HTMLParser

from likely.tracking import report_html


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.images, self._in_cell = [], [], False

    def handle_starttag(self, tag, attrs):
        self._in_cell = tag == "td"
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)
            self._in_cell = False


def test_report_holds_the_metrics_and_embeds_the_plots(tmp_path):
    pngs = []
    for name in ("pit_histogram.png", "zz.png"):
        path = tmp_path / name
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode() * 10)
        pngs.append(path)
    page = _Page()
    page.feed(report_html("run <7>", {"test_crps": 0.081234567, "test_nll": -1.5}, pngs))
    assert page.cells == ["test_crps", "0.081235", "test_nll", "-1.5"]
    assert len(page.images) == 2
    for src, path in zip(page.images, pngs, strict=True):
        prefix, data = src.split(",", 1)
        assert prefix == "data:image/png;base64"
        assert base64.b64decode(data) == path.read_bytes()
    html = report_html("run <7>", {}, [])
    assert "<h1>run &lt;7&gt;</h1>" in html and "<table" not in html
    assert not re.search(r"<img", html)
