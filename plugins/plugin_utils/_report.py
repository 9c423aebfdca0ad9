# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): the fleet report, as the action plugins use it.

Controller only (rnds_report, rnds_report_merge). The work is in smaller files:

- ``_report_problems``: the registry, one row per problem code (severity, words, what to do);
- ``_report_input``: the registered results and the inventory's expectations, read;
- ``_report_eval`` / ``_report_eval_municipio``: the evaluators, which add problems by code;
- ``_report_model``: the report document, its summary and rows;
- ``_report_render`` / ``_report_html`` + ``templates/rnds-report.html.j2``: JSON, CSV, HTML;
- ``_report_dates``: every date computation.
"""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.plugin_utils._report_dates import (
    iso_utc, local_date, local_datetime, parse_datetime,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._report_eval import evaluate_host
from ansible_collections.esus.rnds.plugins.plugin_utils._report_model import (
    RNDS_STATUS_PT, SEVERITY, STATUS_PT, build_report, hosts_at_or_above, summarize,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._report_render import (
    CSV_HEADER, render_csv, render_html, render_json,
)

__all__ = ["CSV_HEADER", "RNDS_STATUS_PT", "SEVERITY", "STATUS_PT", "build_report", "evaluate_host",
           "hosts_at_or_above", "iso_utc", "local_date", "local_datetime", "parse_datetime", "render_csv",
           "render_html", "render_json", "summarize"]
