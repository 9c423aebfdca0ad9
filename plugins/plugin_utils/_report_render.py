# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): the fleet report as JSON, CSV and HTML.

JSON is the report document itself. CSV has one line per municipality, its columns in
``CSV_COLUMNS``. HTML is the Jinja2 template ``templates/rnds-report.html.j2`` (autoescaped)
filled with the view ``_report_html.view`` builds.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re

import jinja2

from ansible_collections.esus.rnds.plugins.plugin_utils import _report_dates as dates
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_html
from ansible_collections.esus.rnds.plugins.plugin_utils._report_model import RNDS_STATUS_PT, STATUS_PT, rows

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
HTML_TEMPLATE = "rnds-report.html.j2"


def render_json(report):
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


# --------------------------------------------------------------------------- CSV


def sim_nao(value):
    if value is None:
        return ""
    return "sim" if value else "não"


# A spreadsheet may read a cell as a formula when its first visible character is one of these, also
# after leading (Unicode) spaces, line breaks or zero-width characters, and in the full-width/small forms.
_CSV_FORMULA = re.compile("^[\\s\u200b-\u200d\u2060\ufeff]*[=+\\-@\uff1d\uff0b\uff0d\uff20\ufe62\ufe63\ufe66\ufe6b\u2212]")


def csv_cell(value):
    """One CSV cell: booleans as sim/não, numbers as they are, formula-looking text prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return sim_nao(value)
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text[:1] in ("\t", "\r", "\n") or _CSV_FORMULA.match(text):
        text = "'" + text
    return text


class Row(object):
    """One line of the report: a municipality of a host (or a host without municipalities)."""

    def __init__(self, entry, municipio, problems, status):
        self.entry, self.municipio, self.problems, self.status = entry, municipio, problems, status
        self.m = municipio or {}
        self.own = municipio if municipio else entry  # where the certificate fields of the line are

    def auth(self):
        """sim/não of rnds_auth for this line (its municipality's own test when there is one), else ''."""
        auth = self.entry.get("auth")
        if not isinstance(auth, dict):
            return ""
        own = [r for r in auth.get("results") or [] if self.m.get("ibge") and r.get("ibge") == self.m.get("ibge")]
        return sim_nao(all(r.get("authenticated") for r in own) if own else bool(auth.get("authenticated")))


# (header, value of a Row): add a column here (and in docs/report.md).
CSV_COLUMNS = (
    ("host", lambda r: r.entry.get("host")),
    ("status do host", lambda r: STATUS_PT.get(r.entry.get("status"), r.entry.get("status"))),
    ("PEC acessível", lambda r: sim_nao(r.entry.get("reachable"))),
    ("versão do PEC", lambda r: r.entry.get("pec_version")),
    ("autenticação RNDS", Row.auth),
    ("município", lambda r: r.m.get("nome")),
    ("IBGE", lambda r: r.m.get("ibge")),
    ("status", lambda r: STATUS_PT.get(r.status, r.status)),
    ("RNDS habilitado", lambda r: sim_nao(r.m.get("rnds_enabled"))),
    ("situação RNDS", lambda r: RNDS_STATUS_PT.get(r.own.get("rnds_status"), "")),
    ("CADSUS habilitado", lambda r: sim_nao(r.m.get("cadsus_enabled"))),
    ("certificado", lambda r: r.own.get("certificate")),
    ("certificado esperado", lambda r: r.m.get("expected_certificate")),
    ("dias restantes", lambda r: r.own.get("days_remaining")),
    ("vence em", lambda r: dates.local_date(r.own.get("not_after"))),
    ("identificador do solicitante", lambda r: r.m.get("requester_id")),
    ("problemas", lambda r: " | ".join(r.problems)),
)
CSV_HEADER = [header for header, dummy in CSV_COLUMNS]
# Only with rnds_report_contra_chave: true (a secret).
CONTRA_CHAVE_COLUMN = ("contra chave", lambda r: r.m.get("contra_chave"))


def render_csv(report):
    """CSV for pt-BR spreadsheets: ';', UTF-8 BOM (prefixed to the returned text), dd/mm/aaaa."""
    columns = list(CSV_COLUMNS)
    if any("contra_chave" in (m or {}) for h in report.get("hosts") or [] for m in h.get("municipios") or []):
        columns.append(CONTRA_CHAVE_COLUMN)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([header for header, dummy in columns])
    for row in rows(report):
        line = Row(*row)
        writer.writerow([csv_cell(value(line)) for dummy, value in columns])
    return "\ufeff" + buf.getvalue()


# --------------------------------------------------------------------------- HTML

@functools.lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment of the report templates (autoescape on, undefined names fail)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def render_html(report):
    """One self-contained pt-BR HTML page (inline CSS/JS/SVG, no external reference)."""
    return environment().get_template(HTML_TEMPLATE).render(view=_report_html.view(report))
