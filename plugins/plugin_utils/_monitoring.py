# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Monitoring outputs of the fleet audit, from the report built by ``_report.build_report``.

- ``prometheus_text``: Prometheus text exposition format (version 0.0.4), for node_exporter's
  textfile collector.
- ``zabbix_lld``: JSON for a Zabbix low-level discovery rule, with the same values, read by
  dependent items through JSONPath.

One series per municipality (label or macro ``host``, ``ibge``, ``municipio``); a host whose
audit found no municipality gives one series with empty ``ibge``/``municipio``. Used on the
controller by the ``rnds_report`` and ``rnds_report_merge`` actions.
"""

from __future__ import absolute_import, division, print_function

import json
import math

from ansible_collections.esus.rnds.plugins.plugin_utils import _report_dates as dates

SEVERITIES = ("warning", "error")
STATUS_VALUE = {"ok": 0, "warning": 1, "error": 2}

METRICS = (
    ("rnds_certificate_days_remaining",
     "Days until the certificate in use by the municipality expires (negative: expired)."),
    ("rnds_enabled", "1 when the municipality is enabled on the RNDS, 0 otherwise."),
    ("rnds_audit_host_status", "Audit status of the PEC server: 0 ok, 1 warning, 2 error."),
    ("rnds_audit_problems", "Problems found by the last audit in the whole fleet, by severity."),
    ("rnds_audit_timestamp_seconds", "Unix time of the last audit."),
)


def _text(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def timestamp_seconds(generated_at):
    """ISO 8601 UTC (``2026-03-10T15:30:00Z``, with or without fraction/offset) -> Unix time."""
    moment = dates.parse_datetime(generated_at)
    if moment is None:
        raise ValueError("generated_at inválido: %r" % (generated_at,))
    return moment.timestamp()


def series(report):
    """[(host, ibge, municipio, days_remaining or None, enabled bool, host status)]."""
    rows = []
    for entry in report.get("hosts") or []:
        host = _text(entry.get("host"))
        status = entry.get("status") if entry.get("status") in STATUS_VALUE else "error"
        municipios = entry.get("municipios") or []
        if not municipios:
            rows.append((host, "", "", entry.get("days_remaining"), bool(entry.get("rnds_enabled")), status))
        for municipio in municipios:
            rows.append((host, _text(municipio.get("ibge")), _text(municipio.get("nome")),
                         municipio.get("days_remaining"), bool(municipio.get("rnds_enabled")), status))
    return rows


def problem_counts(report):
    """{"warning": n, "error": n}: every problem of the fleet, host and municipality level."""
    counts = dict((severity, 0) for severity in SEVERITIES)
    for entry in report.get("hosts") or []:
        details = entry.get("problem_details")
        if details is None:  # entry rendered again from a JSON report without details
            if entry.get("problems"):
                level = entry.get("status") if entry.get("status") in counts else "error"
                counts[level] += len(entry["problems"])
            continue
        for problem in details:
            if problem.get("severity") in counts:
                counts[problem["severity"]] += 1
    return counts


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _label_value(value):
    return _text(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs):
    return "{%s}" % ",".join('%s="%s"' % (name, _label_value(value)) for name, value in pairs)


def prometheus_text(report):
    """The report as Prometheus text format (one HELP/TYPE block per metric, gauges only)."""
    rows = series(report)
    samples = {
        "rnds_certificate_days_remaining": [
            (_labels((("host", h), ("ibge", i), ("municipio", m))), days)
            for h, i, m, days, dummy, dummy2 in rows if days is not None],
        "rnds_enabled": [
            (_labels((("host", h), ("ibge", i), ("municipio", m))), enabled)
            for h, i, m, dummy, enabled, dummy2 in rows],
        "rnds_audit_host_status": [],
        "rnds_audit_problems": [
            (_labels((("severity", severity),)), count) for severity, count in sorted(problem_counts(report).items())],
        "rnds_audit_timestamp_seconds": [("", timestamp_seconds(report.get("generated_at")))],
    }
    seen = set()
    for host, dummy, dummy2, dummy3, dummy4, status in rows:
        if host not in seen:
            seen.add(host)
            samples["rnds_audit_host_status"].append((_labels((("host", host),)), STATUS_VALUE[status]))
    lines = []
    for name, help_text in METRICS:
        lines.append("# HELP %s %s" % (name, help_text.replace("\\", "\\\\").replace("\n", "\\n")))
        lines.append("# TYPE %s gauge" % name)
        for labels, value in samples[name]:
            lines.append("%s%s %s" % (name, labels, _number(value)))
    return "\n".join(lines) + "\n"


def zabbix_lld(report):
    """The report as Zabbix low-level discovery JSON (text).

    ``data`` holds one object per municipality with the LLD macros ``{#HOST}``, ``{#IBGE}``,
    ``{#MUNICIPIO}``, the same under plain names (``host``, ``ibge``, ``municipio``) and the values ``certificate_days_remaining`` (null without a certificate),
    ``enabled`` (0/1) and ``host_status`` (0 ok, 1 warning, 2 error); ``audit`` holds
    ``timestamp_seconds`` and ``problems`` by severity.
    """
    data = []
    for host, ibge, municipio, days, enabled, status in series(report):
        data.append({
            "{#HOST}": host, "{#IBGE}": ibge, "{#MUNICIPIO}": municipio,
            # the same values under plain names, for JSONPath filters in item prototypes (Zabbix
            # replaces {#MACRO} everywhere in a prototype, so a filter cannot name a macro key)
            "host": host, "ibge": ibge, "municipio": municipio,
            "certificate_days_remaining": days,
            "enabled": 1 if enabled else 0,
            "host_status": STATUS_VALUE[status],
        })
    document = {
        "data": data,
        "audit": {
            "timestamp_seconds": int(timestamp_seconds(report.get("generated_at"))),
            "problems": problem_counts(report),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
