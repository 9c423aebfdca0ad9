# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render rnds-report.html in a real browser (headless Chromium): the page loads, its script runs
(sorting and filters), nothing external is fetched, the DOM Chromium rendered has the summary cards,
the table rows and their badges with the expected texts, and a screenshot is kept in build/.

Chromium is installed by tests/infra/chromium.sh. Without it this test is skipped, unless
ESUS_REQUIRE_CHROMIUM is set (CI), in which case it fails.
"""

from __future__ import annotations

import html.parser
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import tempfile

import pytest

# The synthetic fleet the unit tests of the report use too.
_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "unit", "report", "sample_fleet.py")
_spec = importlib.util.spec_from_file_location("esus_rnds_sample_fleet_chromium", _SAMPLE)
sf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sf)

ROOT = sf.ROOT
SCREENSHOT = os.path.join(ROOT, "build", "report-screenshot.png")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("ESUS_REQUIRE_CHROMIUM"):
        pytest.fail("chromium não encontrado no PATH e ESUS_REQUIRE_CHROMIUM está definido: rode tests/infra/chromium.sh")
    pytest.skip("chromium não instalado (rode tests/infra/chromium.sh; defina ESUS_REQUIRE_CHROMIUM para exigir)")
    return None


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    module, report = sf.build()
    directory = tmp_path_factory.mktemp("html")
    path = directory / "rnds-report.html"
    path.write_text(module.render_html(report), encoding="utf-8")
    return str(path), report


def _run(chromium, args, url):
    profile = tempfile.mkdtemp(prefix="esus-chromium-")
    try:
        proc = subprocess.run([chromium] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + args + [url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, "chromium falhou (%d):\n%s" % (proc.returncode, proc.stderr[-4000:])
    return proc


def _dump(chromium, url):
    return _run(chromium, ["--virtual-time-budget=5000", "--dump-dom"], url).stdout


def _rows(dom):
    body = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr\b([^>]*)>(.*?)</tr>", body, re.S)


class _Page(html.parser.HTMLParser):
    """The parts of a rendered report a reader sees: summary cards, table header, rows (cells, badges)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cards = {}  # label -> (class, number)
        self.header = []
        self.rows = []  # {"attrs": {...}, "cells": [{"class": str, "text": str, "badge": (class, text) or None}]}
        self._stack = []  # open elements we track: (tag, attrs)
        self._card = None
        self._text = None
        self._cell = None
        self._in = {"thead": False, "tbody": False}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag in self._in:
            self._in[tag] = True
        elif tag == "div" and "card" in classes:
            self._card = {"class": " ".join(c for c in classes if c != "card"), "n": "", "l": ""}
        elif tag == "span" and self._card is not None and classes and classes[0] in ("n", "l"):
            self._text = ("card", classes[0])
        elif tag == "tr" and self._in["tbody"]:
            self.rows.append({"attrs": attrs, "cells": []})
        elif tag == "th" and self._in["thead"]:
            self._cell = {"class": "", "text": "", "badge": None}
        elif tag == "td" and self._in["tbody"] and self.rows:
            self._cell = {"class": attrs.get("class") or "", "text": "", "badge": None}
            self.rows[-1]["cells"].append(self._cell)
        elif tag == "span" and "badge" in classes and self._cell is not None:
            self._cell["badge"] = (" ".join(c for c in classes if c != "badge"), "")
            self._text = ("badge", None)

    def handle_endtag(self, tag):
        if tag in self._in:
            self._in[tag] = False
        elif tag == "div" and self._card is not None:
            self.cards[self._card["l"].strip()] = (self._card["class"], self._card["n"].strip())
            self._card = None
        elif tag == "th" and self._cell is not None:
            self.header.append(self._cell["text"].strip())
            self._cell = None
        elif tag == "td":
            if self._cell is not None:
                self._cell["text"] = re.sub(r"\s+", " ", self._cell["text"]).strip()
            self._cell = None
        if tag == "span":
            self._text = None

    def handle_data(self, data):
        if self._text and self._text[0] == "card":
            self._card[self._text[1]] += data
        if self._cell is not None:
            self._cell["text"] += data
            if self._text and self._text[0] == "badge":
                cls, text = self._cell["badge"]  # pylint: disable=unpacking-non-sequence
                self._cell["badge"] = (cls, text + data)


def _parse(dom):
    page = _Page()
    page.feed(dom)
    page.close()
    return page


def test_script_runs_sorts_and_counts(chromium, report_page):
    path, report = report_page
    dom = _dump(chromium, "file://" + path)
    assert 'data-js-ready="1"' in dom, "the page script did not run"
    table = re.search(r'<table id="rnds-tabela"([^>]*)>', dom).group(1)
    assert 'data-visible-rows="12"' in table
    assert 'data-sorted-by="status:descending"' in table
    assert "12 de 12 linha(s) exibida(s)" in dom
    rows = _rows(dom)
    statuses = [re.search(r'data-status="(\w+)"', attrs).group(1) for attrs, dummy in rows]
    rank = {"error": 0, "warning": 1, "ok": 2}
    assert statuses == sorted(statuses, key=rank.get), statuses
    # within the errors, the certificate that expired comes first (days ascending)
    assert "Hortolândia" in rows[0][1]
    # the hostile host name is shown as text, never run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert dom.count("<script>") == 1


def test_filters_from_the_address(chromium, report_page):
    path, report = report_page
    expected = sum(1 for h in report["hosts"] for m in (h["municipios"] or [None])
                   if (m or h)["status"] == "warning")
    dom = _dump(chromium, "file://" + path + "#status=warning")
    assert 'data-visible-rows="%d"' % expected in dom
    visible = [attrs for attrs, dummy in _rows(dom) if "hidden" not in attrs]
    assert len(visible) == expected and all('data-status="warning"' in a for a in visible)

    dom = _dump(chromium, "file://" + path + "#q=Hortol%C3%A2ndia")
    assert 'data-visible-rows="1"' in dom
    assert "1 de 12 linha(s) exibida(s)" in dom
    [visible] = [row for attrs, row in _rows(dom) if "hidden" not in attrs]
    assert "Hortolândia" in visible


def _rnds_text(municipio):
    if municipio is None:
        return "—"
    if municipio.get("rnds_status") == "manual_pending":
        return "habilitação manual pendente"
    if municipio.get("rnds_status") == "unverified":
        return "não verificado"
    return {True: "sim", False: "não", None: "—"}[municipio.get("rnds_enabled")]


def test_rendered_dom_has_cards_rows_and_badges(chromium, report_page):
    """What Chromium rendered (after the page script ran), read as a reader sees it."""
    path, report = report_page
    page = _parse(_dump(chromium, "file://" + path))
    summary = report["summary"]
    module = sf.load_report_module()

    # summary cards: label -> (colour class, number)
    assert page.cards["servidores (hosts)"] == ("", "10")
    assert page.cards["hosts ok"] == ("ok", str(summary["ok"]))
    assert page.cards["hosts com aviso"] == ("warning", str(summary["warning"]))
    assert page.cards["hosts com erro"] == ("error", str(summary["error"]))
    assert page.cards["municípios habilitados"] == ("warning", "%d/11" % summary["rnds_enabled_municipios"])
    assert page.cards["certificados vencidos"] == ("error", "1")
    assert page.cards["PEC inacessível"] == ("error", "2")
    assert page.cards["habilitação manual pendente"] == ("warning", "1")
    assert page.cards["municípios não verificados"] == ("warning", "2")

    assert page.header == ["host", "município", "IBGE", "status", "RNDS", "CADSUS", "certificado", "dias restantes",
                           "vence em", "problemas"]
    # one row per municipality (one per host without any), each with its badge and RNDS cell
    expected = []
    for host in report["hosts"]:
        for municipio in host["municipios"] or [None]:
            status = (municipio or host)["status"]
            expected.append((host["host"], (municipio or {}).get("nome") or "—", status,
                             module.STATUS_PT[status], _rnds_text(municipio)))
    rendered = []
    for row in page.rows:
        cells = row["cells"]
        assert len(cells) == len(page.header), row
        badge = cells[3]["badge"]
        assert badge is not None and row["attrs"]["data-status"] == badge[0], row
        rendered.append((cells[0]["text"], cells[1]["text"], badge[0], badge[1], cells[4]["text"]))
    assert sorted(rendered) == sorted(expected)

    rows = dict((cells[1]["text"], cells) for cells in (r["cells"] for r in page.rows))
    santo_andre = rows["Santo André"]
    assert santo_andre[4]["class"] == "warn" and santo_andre[4]["text"] == "habilitação manual pendente"
    assert santo_andre[3]["badge"] == ("warning", "aviso")
    assert "Habilitação manual pendente em Santo André (IBGE 3547809)" in santo_andre[9]["text"]
    sao_bernardo = rows["São Bernardo do Campo"]
    assert sao_bernardo[4]["class"] == "unk" and sao_bernardo[4]["text"] == "não verificado"
    assert sao_bernardo[9]["text"].startswith("aviso: Não verificado")
    hortolandia = rows["Hortolândia"]
    assert hortolandia[3]["badge"] == ("error", "erro")
    assert hortolandia[7]["class"].split() == ["num", "days-expired"] and hortolandia[7]["text"] == "-3"
    assert hortolandia[8]["text"] == "07/03/2026" and hortolandia[6]["text"] == "b.pfx"
    assert rows["Jundiaí"][4]["text"] == "não verificado"  # PEC unreachable: nothing was read
    assert rows["Nova Odessa"][4]["class"] == "no" and rows["Nova Odessa"][4]["text"] == "não"
    campinas = rows["Campinas"]
    assert campinas[3]["badge"] == ("ok", "ok") and campinas[4]["class"] == "yes" and campinas[4]["text"] == "sim"
    assert campinas[9]["text"] == "nenhum"  # no problem
    # the hostile host name is a text cell, not markup
    assert rows['Santos & <Região> "Baixada"'][0]["text"] == "<script>alert(1)</script>"


def test_screenshot(chromium, report_page):
    path, dummy = report_page
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    if os.path.exists(SCREENSHOT):
        os.unlink(SCREENSHOT)
    _run(chromium, ["--virtual-time-budget=5000", "--screenshot=" + SCREENSHOT, "--window-size=1400,1000"],
         "file://" + path)
    with open(SCREENSHOT, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    assert struct.unpack(">II", head[16:24]) == (1400, 1000)  # the window asked for
    assert os.path.getsize(SCREENSHOT) > 20000  # a blank page is a few KB
    # what the screenshot shows, read from the same page at the same window size
    page = _parse(_run(chromium, ["--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom"],
                       "file://" + path).stdout)
    assert len(page.rows) == 12 and page.cards["habilitação manual pendente"] == ("warning", "1")
