# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): what the HTML page of the fleet report shows, as plain data.

``view()`` turns the report into the values ``templates/rnds-report.html.j2`` lays out: summary
cards, the expiry chart (geometry computed here, markup in the template) and one table row per
municipality. No markup and no escaping here: the template does both.
"""

from __future__ import annotations

import math

from ansible_collections.esus.rnds.plugins.plugin_utils import _report_dates as dates
from ansible_collections.esus.rnds.plugins.plugin_utils._report_model import (
    EXPIRING_WINDOW_DAYS, RNDS_STATUS_PT, SEVERITY, STATUS_PT, rows, summarize,
)

CHART_DAYS = 90
CHART_COLOURS = {"expired": "#c4161c", "soon": "#d4a017", "later": "#2f7dc9"}
# (key, header, sort type) of the table; each key is a cell of the row in the template.
COLUMNS = (("host", "host", "text"), ("municipio", "município", "text"), ("ibge", "IBGE", "num"),
           ("status", "status", "num"), ("rnds", "RNDS", "num"), ("cadsus", "CADSUS", "num"),
           ("certificado", "certificado", "text"), ("dias", "dias restantes", "num"),
           ("vence", "vence em", "text"), ("problemas", "problemas", "text"))


def cards(summary):
    """Summary cards: (colour class, number, label)."""
    def alert(count, level):
        return level if count else "ok"

    enabled, total = summary["rnds_enabled_municipios"], summary["municipios_total"]
    return [
        ("", summary["hosts_total"], "servidores (hosts)"),
        ("ok", summary["ok"], "hosts ok"),
        ("warning", summary["warning"], "hosts com aviso"),
        ("error", summary["error"], "hosts com erro"),
        ("ok" if enabled == total else "warning", "%d/%d" % (enabled, total), "municípios habilitados"),
        (alert(summary["expiring_30"], "warning"), summary["expiring_30"], "vencendo em %d dias" % EXPIRING_WINDOW_DAYS),
        (alert(summary["expired"], "error"), summary["expired"], "certificados vencidos"),
        (alert(summary["unreachable"], "error"), summary["unreachable"], "PEC inacessível"),
        (alert(summary.get("manual_pending_municipios"), "warning"), summary.get("manual_pending_municipios", 0),
         "habilitação manual pendente"),
        (alert(summary.get("unverified_municipios"), "warning"), summary.get("unverified_municipios", 0),
         "municípios não verificados"),
    ]


# --------------------------------------------------------------------------- chart


def chart_buckets(report, now):
    """Expired + 13 weekly buckets over the next 90 days (municipalities, by days remaining)."""
    weeks = int(math.ceil(CHART_DAYS / 7.0))
    buckets = [{"label": "vencidos", "count": 0, "names": [], "kind": "expired"}]
    for week, (label, span) in enumerate(dates.weeks_from(now, weeks)):
        buckets.append({"label": label, "range": span, "count": 0, "names": [],
                        "kind": "soon" if 7 * week < EXPIRING_WINDOW_DAYS else "later"})
    beyond = unknown = 0
    for entry, municipio, dummy, dummy2 in rows(report):
        if municipio is None:
            continue
        days = municipio.get("days_remaining")
        if days is None:
            unknown += 1
            continue
        if municipio.get("expired") or days < 0:
            bucket = buckets[0]
        elif days < 7 * weeks:
            bucket = buckets[1 + days // 7]
        else:
            beyond += 1
            continue
        bucket["count"] += 1
        bucket["names"].append("%s — %s" % (entry.get("host"), municipio.get("nome") or municipio.get("ibge")))
    return buckets, beyond, unknown


def _tip(bucket):
    names = bucket["names"][:30]
    more = len(bucket["names"]) - len(names)
    where = "Já vencidos" if bucket["kind"] == "expired" else "Semana de " + bucket["range"]
    tip = "%s: %d município(s)" % (where, bucket["count"])
    if names:
        tip += "\n" + "\n".join(names) + ("\n… e mais %d" % more if more > 0 else "")
    return tip


def _number(value):
    return "%.1f" % value


def chart(report, now):
    """The expiry chart: SVG geometry (numbers as text) and the counts of the legend."""
    buckets, beyond, unknown = chart_buckets(report, now)
    width, height, left, right, top, bottom = 960, 250, 56, 16, 24, 62
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max([b["count"] for b in buckets] + [1])
    step = max(1, int(math.ceil(highest / 5.0)))
    top_value = step * int(math.ceil(highest / float(step)))
    slot = plot_w / float(len(buckets))
    bar_w = slot * 0.62
    bars = []
    for index, bucket in enumerate(buckets):
        x = left + slot * index + (slot - bar_w) / 2.0
        h = plot_h * bucket["count"] / float(top_value)
        bars.append({"tip": _tip(bucket), "x": _number(x), "y": _number(top + plot_h - h), "w": _number(bar_w),
                     "h": _number(max(h, 0.0)), "fill": CHART_COLOURS[bucket["kind"]], "count": bucket["count"],
                     "mid": _number(x + bar_w / 2.0), "count_y": _number(top + plot_h - h - 5), "label": bucket["label"]})
    ticks = [{"value": tick, "y": _number(top + plot_h - plot_h * tick / float(top_value)),
              "text_y": _number(top + plot_h - plot_h * tick / float(top_value) + 4)}
             for tick in range(0, top_value + 1, step)]
    return {"days": CHART_DAYS, "window": EXPIRING_WINDOW_DAYS, "width": width, "height": height, "left": left,
            "right": width - right, "top": top, "bottom": top + plot_h, "tick_x": left - 8, "ticks": ticks,
            "axis_label_y": _number(top + plot_h / 2.0), "label_y": top + plot_h + 17,
            "note_x": _number(left + plot_w / 2.0), "note_y": height - 14, "bars": bars,
            "beyond": beyond, "unknown": unknown}


# --------------------------------------------------------------------------- table


def _s(value):
    return "" if value is None else str(value)


def _cell(text, cls="", sort=None, title=""):
    return {"text": text, "cls": cls, "sort": sort, "title": title}


def bool_cell(value, expected=True):
    if value is None:
        return _cell("—", "unk", "")
    if value:
        return _cell("sim", "yes", "1")
    if not expected:
        return _cell("não", "unk", "0", "não solicitado no inventário")
    return _cell("não", "no", "0")


def rnds_cell(value, situation):
    if situation in ("manual_pending", "unverified"):
        return _cell(RNDS_STATUS_PT[situation], "warn" if situation == "manual_pending" else "unk", "")
    return bool_cell(value)


def days_cell(days, expired):
    if days is None:
        return _cell("—", "num", "")
    cls = "num"
    if expired or days < 0:
        cls += " days-expired"
    elif days < EXPIRING_WINDOW_DAYS:
        cls += " days-soon"
    return _cell(int(days), cls, int(days))


def table_row(entry, municipio, problems, status):
    """The values of one table row (see COLUMNS)."""
    m = municipio or {}
    own = municipio if municipio else entry
    severities = {}
    for problem in entry.get("problem_details") or []:
        severities.setdefault(problem.get("message"), problem.get("severity"))
    listed = []
    for message in problems:
        severity = severities.get(message) or "error"
        listed.append({"severity": severity, "label": STATUS_PT.get(severity, severity), "message": message})
    return {
        "status": status, "status_sort": SEVERITY.get(status, 2), "status_label": STATUS_PT.get(status, status),
        "host": _s(entry.get("host")), "nome": _s(m.get("nome")), "ibge": _s(m.get("ibge")),
        "rnds": rnds_cell(m.get("rnds_enabled") if municipio else None, m.get("rnds_status")),
        "cadsus": bool_cell(m.get("cadsus_enabled"), "cadsus" in (m.get("services") or [])),
        "certificate": _s(own.get("certificate")), "expected_certificate": _s(m.get("expected_certificate")),
        "days": days_cell(own.get("days_remaining"), own.get("expired")),
        "vence": _cell(dates.local_date(own.get("not_after")) or "—", sort=own.get("not_after") or ""),
        "problems": listed,
    }


def view(report):
    """Everything the page shows."""
    now = dates.parse_datetime(report.get("generated_at")) or dates.utc()
    summary = report.get("summary") or summarize(report.get("hosts") or [])
    return {
        "generated_at": _s(report.get("generated_at")), "generated_local": dates.local_datetime(now),
        "summary": summary, "cards": cards(summary), "chart": chart(report, now), "columns": COLUMNS,
        "rows": [table_row(*row) for row in rows(report)],
    }
