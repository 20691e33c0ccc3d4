"""report.html in a real headless Chromium, opened from disk with the network cut.

How: chromium_cdp.Browser drives Debian's `chromium` over `--remote-debugging-pipe`
(the DevTools protocol on two file descriptors: no websocket, no port). With the Network,
Runtime and Log domains enabled before navigating, every request the page makes is a
`Network.requestWillBeSent` event (it is recorded even though the dead proxy and the
resolver rules would make it fail), every console error, uncaught exception and CSP
violation is a `Runtime`/`Log` event, and the DOM can be read after load. That is more
direct than parsing a NetLog and catches what `--dump-dom` alone cannot (the requests).
Skips cleanly, with the reason, when `chromium` is not on PATH.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from chromium_cdp import CHROMIUM, Browser
from conftest import MARK, PAYLOAD

from auditor.audit import write_reports
from auditor.model import Report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not on PATH (apt-get install chromium; .ci/run installs it)",
    ),
]


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6)
        elif kind == b"IDAT":
            idat += body
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, bpp, rows


def colours(data: bytes) -> tuple[set[tuple[int, ...]], float]:
    """Distinct colours and the share of pixels that are not near-white."""
    _, bpp, rows = png_pixels(data)
    seen: set[tuple[int, ...]] = set()
    ink = total = 0
    for row in rows:
        for i in range(0, len(row), bpp):
            px = tuple(row[i : i + 3])
            seen.add(px)
            total += 1
            ink += min(px) < 235
    return seen, ink / total


@pytest.fixture(scope="module")
def page(report: Report, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("html")
    write_reports(report, out, ("json", "html"))
    with Browser(width=1400, height=1000) as b:
        b.open_page()
        b.navigate(out / "report.html")
        yield b, out / "report.html"


def test_page_renders_and_is_not_blank(page) -> None:  # type: ignore[no-untyped-def]
    b, _ = page
    shot = b.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "clip": {"x": 0, "y": 0, "width": 1400, "height": 1000, "scale": 0.4},
        },
    )
    import base64

    seen, ink = colours(base64.b64decode(shot["data"]))
    assert len(seen) > 200, "screenshot looks blank"
    assert ink > 0.03
    assert b.evaluate("document.querySelectorAll('svg.chart rect').length") > 5


def test_no_network_request(page) -> None:  # type: ignore[no-untyped-def]
    b, path = page
    assert b.requests() == [path.resolve().as_uri()]  # the file itself, nothing else


def test_no_console_error_no_csp_violation(page) -> None:  # type: ignore[no-untyped-def]
    b, _ = page
    assert b.console_errors() == []


def test_our_script_ran(page) -> None:  # type: ignore[no-untyped-def]
    """The CSP hash matches: the sort buttons and filter boxes exist, and filtering works."""
    b, _ = page
    assert b.evaluate("document.querySelectorAll('.filter input').length") == 3
    assert b.evaluate("document.querySelectorAll('th button').length") > 20
    hidden = b.evaluate("""(() => {
        const input = document.querySelector('.filter input');
        input.value = 'DataScience';
        input.dispatchEvent(new Event('input'));
        const rows = document.querySelectorAll('table[data-name=principals] tbody tr');
        const n = Array.from(rows).filter(r => r.hidden).length;
        input.value = ''; input.dispatchEvent(new Event('input'));
        return [n, rows.length];
    })()""")
    assert hidden == [3, 4]


def test_planted_script_does_not_run(page) -> None:  # type: ignore[no-untyped-def]
    b, _ = page
    assert MARK not in b.evaluate("document.title")
    assert b.evaluate(f"document.getElementById('{MARK}')") is None
    assert b.evaluate(f"document.getElementById('{MARK}b')") is None
    assert b.evaluate("document.images.length") == 0
    assert b.evaluate("document.scripts.length") == 1
    text = b.evaluate("document.body.textContent")
    assert PAYLOAD in text  # shown as text (user agent, principal, resource, policy...)
    assert text.count("<script>document.title") >= 6


def test_readable_with_javascript_off(report: Report, tmp_path: Path) -> None:
    write_reports(report, tmp_path, ("json", "html"))
    with Browser() as b:
        b.open_page(javascript=False)
        b.navigate(tmp_path / "report.html")
        rows = b.evaluate(
            "document.querySelectorAll('table[data-name=principals] tbody tr').length"
        )
        assert rows == len(report.findings)
        assert b.evaluate("document.querySelectorAll('.filter').length") == 0
        assert b.evaluate("document.body.innerText.includes('Investigation guide')")
        assert b.console_errors() == []


def test_dark_and_print(report: Report, tmp_path: Path) -> None:
    write_reports(report, tmp_path, ("json", "html"))
    with Browser() as b:
        b.open_page(color_scheme="dark")
        b.navigate(tmp_path / "report.html")
        bg = b.evaluate("getComputedStyle(document.body).backgroundColor")
        r, g, bl = (int(x) for x in bg[bg.index("(") + 1 : bg.index(")")].split(",")[:3])
        assert r + g + bl < 120, bg
        b.send("Emulation.setEmulatedMedia", {"media": "print"})
        assert b.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
        assert b.pdf()[:5] == b"%PDF-"
        assert b.console_errors() == []


# ---------------------------------------------------------------- organisation scale


@pytest.fixture(scope="module")
def org_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from orgscale import build_org_report

    out = tmp_path_factory.mktemp("org")
    write_reports(build_org_report(), out, ("json", "html"))
    return out / "report.html"


def _chart_text_px(b: Browser, selector: str) -> float:
    """The rendered size, in CSS pixels, of the first tick label of a visible chart: its
    font size times the SVG's scale (text in an SVG scales with its viewBox)."""
    return b.evaluate(f"""(() => {{
        const svg = Array.from(document.querySelectorAll('{selector}'))
            .find(s => s.getBoundingClientRect().width > 0);
        const t = svg.querySelector('text.tick');
        return parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a;
    }})()""")


@pytest.mark.parametrize("width", [1400, 420])
def test_org_scale_page_at_desktop_and_phone_width(org_page: Path, width: int) -> None:
    import base64

    with Browser(width=max(width, 800), height=1000) as b:
        b.open_page()
        # a headless window has a minimum width: emulate the phone's viewport instead
        b.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        b.navigate(org_page)
        assert b.evaluate("document.documentElement.clientWidth") <= width
        shot = b.send("Page.captureScreenshot", {"format": "png"})
        seen, ink = colours(base64.b64decode(shot["data"]))
        assert len(seen) > 100, "screenshot looks blank"
        assert ink > 0.03
        # the severity counts lead the page: in the first screen at either width
        top = b.evaluate("document.querySelector('.sevlead').getBoundingClientRect().top")
        assert top < 1000 * (1 if width > 900 else 1.6)
        px = _chart_text_px(b, "#charts svg.chart")
        assert px >= 9.5, f"chart text renders at {px:.1f} px at {width} px wide"
        narrow_shown = b.evaluate(
            "getComputedStyle(document.querySelector('.narrow-only')).display !== 'none'"
        )
        assert narrow_shown == (width < 600)
        # "show all" works without script: the rows are in the DOM, folded
        assert b.evaluate("document.querySelectorAll('details.more').length") >= 3
        assert b.console_errors() == []


def test_org_scale_prints_with_header_text(org_page: Path) -> None:
    import shutil
    import subprocess

    with Browser() as b:
        b.open_page()
        b.navigate(org_page)
        b.send("Emulation.setEmulatedMedia", {"media": "print"})
        # sort buttons (added by the script) print as their label, in black on grey
        th = b.evaluate("""(() => {
            const th = document.querySelector('table.findings thead th');
            const btn = th.querySelector('button');
            const s = getComputedStyle(th);
            return [th.innerText.trim(), btn.innerText.trim(), s.color,
                    getComputedStyle(btn).color, getComputedStyle(btn).visibility,
                    getComputedStyle(th.parentElement.parentElement).display];
        })()""")
        black = "rgb(0, 0, 0)"
        assert th == ["Severity", "Severity", black, black, "visible", "table-header-group"]
        # and the header row, as laid out for print, has dark text pixels on it
        import base64

        rect = b.evaluate("""(() => {
            const r = document.querySelector('table.findings thead').getBoundingClientRect();
            return {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height};
        })()""")
        shot = b.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": {**rect, "scale": 1}},
        )
        _, bpp, rows = png_pixels(base64.b64decode(shot["data"]))
        dark = sum(1 for row in rows for i in range(0, len(row), bpp) if max(row[i : i + 3]) < 110)
        assert dark > 200, "the printed header row has no text on it"
        # the SQL stays folded, and a heading is not left at the foot of a page
        assert b.evaluate("document.querySelectorAll('#provenance details[open]').length") == 0
        assert b.evaluate("getComputedStyle(document.querySelector('h2')).breakAfter") == "avoid"
        pdf = b.pdf()
        assert pdf[:5] == b"%PDF-"
        assert b.console_errors() == []
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: PDF text not checked")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    for header in ("Principal in policy", "Attempts", "Severity", "First seen"):
        assert header in text
