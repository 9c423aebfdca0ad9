# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render rnds-report.html in a real browser (headless Chromium): the page loads, its script runs
(sorting and filters), nothing external is fetched, and a screenshot is kept in build/.

Chromium is installed by tests/infra/chromium.sh. Without it this test is skipped, unless
ESUS_REQUIRE_CHROMIUM is set (CI), in which case it fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile

import pytest

_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample_fleet.py")
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


def test_script_runs_sorts_and_counts(chromium, report_page):
    path, report = report_page
    dom = _dump(chromium, "file://" + path)
    assert 'data-js-ready="1"' in dom, "the page script did not run"
    table = re.search(r'<table id="rnds-tabela"([^>]*)>', dom).group(1)
    assert 'data-visible-rows="10"' in table
    assert 'data-sorted-by="status:descending"' in table
    assert "10 de 10 linha(s) exibida(s)" in dom
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
    assert "1 de 10 linha(s) exibida(s)" in dom
    [visible] = [row for attrs, row in _rows(dom) if "hidden" not in attrs]
    assert "Hortolândia" in visible


def test_screenshot(chromium, report_page):
    path, dummy = report_page
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    if os.path.exists(SCREENSHOT):
        os.unlink(SCREENSHOT)
    _run(chromium, ["--virtual-time-budget=5000", "--screenshot=" + SCREENSHOT, "--window-size=1400,1000"],
         "file://" + path)
    with open(SCREENSHOT, "rb") as handle:
        head = handle.read(8)
    assert head == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(SCREENSHOT) > 20000  # a blank page is a few KB
