# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): the fleet report document (``rnds-report.json``).

Status levels and situations, the report built from evaluated host entries, its summary and its
rows (one per municipality), shared by the evaluators and the renderers.
"""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.plugin_utils import _report_dates as dates

SEVERITY = {"ok": 0, "warning": 1, "error": 2}
STATUS_PT = {"ok": "ok", "warning": "aviso", "error": "erro"}
LEVELS = ("ok", "warning", "error")
SERVICE_LABEL = {"rnds": "RNDS", "cadsus": "CADSUS"}
# RNDS situation of a municipality (and of a host: the first of this order among its municipalities).
RNDS_STATUS_PT = {
    "manual_pending": "habilitação manual pendente",
    "unverified": "não verificado",
    "disabled": "não habilitado",
    "enabled": "habilitado",
}
EXPIRING_WINDOW_DAYS = 30


def worst(levels):
    """The most severe of ``levels`` (``ok`` when empty)."""
    found = "ok"
    for level in levels:
        if SEVERITY.get(level, 0) > SEVERITY[found]:
            found = level
    return found


def known_status(value):
    """A status as given, or ``error`` when it is not one of ok/warning/error."""
    return value if value in SEVERITY else "error"


def rows(report):
    """(host entry, municipality or None, problems of the row, status of the row): one row per
    municipality; a host without municipalities gives one row."""
    for entry in report.get("hosts") or []:
        details = entry.get("problem_details")
        municipios = entry.get("municipios") or []
        if details is None:  # entries built elsewhere: split what we can
            host_problems = [p for p in entry.get("problems") or []
                             if not any(p in (m.get("problems") or []) for m in municipios)]
        else:
            host_problems = [p["message"] for p in details if p.get("scope") == "host"]
        if not municipios:
            yield entry, None, list(host_problems), entry.get("status") or "error"
        for municipio in municipios:
            yield entry, municipio, list(host_problems) + list(municipio.get("problems") or []), \
                known_status(municipio.get("status"))


def _count_municipio(summary, municipio):
    summary["municipios_total"] += 1
    summary["municipios_" + known_status(municipio.get("status"))] += 1
    if municipio.get("rnds_enabled"):
        summary["rnds_enabled_municipios"] += 1
    if municipio.get("rnds_status") in ("manual_pending", "unverified"):
        summary[municipio["rnds_status"] + "_municipios"] += 1
    days = municipio.get("days_remaining")
    if municipio.get("expired") or (days is not None and days < 0):
        summary["expired"] += 1
    elif days is not None and days < EXPIRING_WINDOW_DAYS:
        summary["expiring_30"] += 1


def summarize(hosts):
    """Counts over host entries (the ``summary`` of rnds-report.json, see docs/report.md)."""
    summary = {"hosts_total": len(hosts)}
    summary.update(dict.fromkeys(("ok", "warning", "error", "municipios_total", "municipios_ok", "municipios_warning",
                                  "municipios_error", "rnds_enabled_hosts", "rnds_enabled_municipios", "expiring_30",
                                  "expired", "unreachable", "manual_pending_municipios", "unverified_municipios"), 0))
    for entry in hosts:
        summary[known_status(entry.get("status"))] += 1
        if entry.get("rnds_enabled"):
            summary["rnds_enabled_hosts"] += 1
        if not entry.get("reachable"):
            summary["unreachable"] += 1
        for municipio in entry.get("municipios") or []:
            _count_municipio(summary, municipio)
    return summary


def _host_sort_key(entry):
    name = "" if entry.get("host") is None else str(entry.get("host")).strip()
    return (name.lower(), name)


def build_report(entries, now=None):
    """Evaluated host entries -> {"generated_at", "hosts" (sorted by host), "summary"}."""
    hosts = sorted([dict(e) for e in entries or []], key=_host_sort_key)
    return {"generated_at": dates.iso_utc(dates.utc(now)), "hosts": hosts, "summary": summarize(hosts)}


def hosts_at_or_above(report, level):
    """Host entries whose status is at least ``level`` ('warning' or 'error')."""
    threshold = SEVERITY[level]
    return [h for h in report.get("hosts") or [] if SEVERITY.get(h.get("status"), 2) >= threshold]
