# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Monitoring outputs of the audit: Prometheus text format and Zabbix low-level discovery JSON.

The Prometheus file is read back with prometheus-client's own text parser (the parser the
Prometheus Python ecosystem uses) plus the line grammar of the exposition format; the Zabbix file
with the JSON parser and the LLD rules Zabbix applies (macro names, string macro values).
"""

from __future__ import annotations

import calendar
import importlib.util
import json
import os
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.esus.rnds.plugins.plugin_utils import _monitoring

HERE = os.path.dirname(os.path.abspath(__file__))
_SAMPLE = os.path.join(HERE, "..", "..", "report", "sample_fleet.py")
_spec = importlib.util.spec_from_file_location("esus_rnds_sample_fleet_monitoring", _SAMPLE)
sf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sf)

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE_LINE = re.compile(r"^(%s)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*=%s)(?:,[a-zA-Z_][a-zA-Z0-9_]*=%s)*\})? "
                         r"(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$" % (NAME, LABEL_VALUE, LABEL_VALUE))
LLD_MACRO = re.compile(r"^\{#[A-Z0-9_.]+\}$")


@pytest.fixture(scope="module")
def report():
    return sf.build()[1]


def _families(text):
    return dict((family.name, family) for family in text_string_to_metric_families(text))


def _samples(family):
    return dict((tuple(sorted(sample.labels.items())), sample.value) for sample in family.samples)


def _key(host, ibge, municipio):
    return (("host", host), ("ibge", ibge), ("municipio", municipio))


def test_prometheus_file_parses_with_prometheus_client(report):
    text = _monitoring.prometheus_text(report)
    families = _families(text)
    assert sorted(families) == sorted(name for name, dummy in _monitoring.METRICS)
    for family in families.values():
        assert family.type == "gauge"
        assert family.documentation

    days = _samples(families["rnds_certificate_days_remaining"])
    assert days[_key("pec-sorocaba", "3552205", "Sorocaba")] == 12
    assert days[_key("pec-consorcio-vale", "3501608", "Americana")] == 45
    assert days[_key("pec-consorcio-vale", "3519071", "Hortolândia")] == -3
    # hostile names come back exactly as written (escaping of \, " and newline)
    assert days[_key("<script>alert(1)</script>", "3548500", 'Santos & <Região> "Baixada"')] == 20

    enabled = _samples(families["rnds_enabled"])
    assert enabled[_key("pec-campinas", "3509502", "Campinas")] == 1
    assert enabled[_key("pec-consorcio-vale", "3533403", "Nova Odessa")] == 0
    # a host the audit could not read still has a series (not enabled), with no municipality
    assert enabled[_key("pec-sem-ansible", "", "")] == 0
    assert _key("pec-sem-ansible", "", "") not in days  # no certificate known: no value invented

    expected_series = sum(max(1, len(h["municipios"])) for h in report["hosts"])
    assert len(enabled) == expected_series

    status = _samples(families["rnds_audit_host_status"])
    assert status[(("host", "pec-campinas"),)] == 0
    assert status[(("host", "pec-sorocaba"),)] == 1
    assert status[(("host", "pec-jundiai"),)] == 2
    assert len(status) == len(report["hosts"])

    problems = _samples(families["rnds_audit_problems"])
    for severity in ("warning", "error"):
        count = sum(1 for h in report["hosts"] for p in h["problem_details"] if p["severity"] == severity)
        assert count > 0
        assert problems[(("severity", severity),)] == count

    timestamp = _samples(families["rnds_audit_timestamp_seconds"])[()]
    assert timestamp == calendar.timegm(sf.NOW.utctimetuple())


def test_prometheus_file_follows_the_exposition_grammar(report):
    text = _monitoring.prometheus_text(report)
    assert text.endswith("\n") and "\r" not in text
    current = None
    seen = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = line.split(" ")[2]
            assert current not in seen, "metric %s described twice" % current
            seen.add(current)
        elif line.startswith("# TYPE "):
            assert line == "# TYPE %s gauge" % current
        else:
            match = SAMPLE_LINE.match(line)
            assert match, "not a valid sample line: %r" % line
            assert match.group(1) == current, "sample of %s outside its block" % match.group(1)
    # no duplicate series (same name and labels)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(set(line.rsplit(" ", 1)[0] for line in lines)) == len(lines)


def test_zabbix_lld_json(report):
    document = json.loads(_monitoring.zabbix_lld(report))
    assert sorted(document) == ["audit", "data"]
    assert isinstance(document["data"], list) and document["data"]
    for row in document["data"]:
        macros = [key for key in row if key.startswith("{#")]
        assert sorted(macros) == ["{#HOST}", "{#IBGE}", "{#MUNICIPIO}"]
        for macro in macros:
            assert LLD_MACRO.match(macro)
            assert isinstance(row[macro], str)  # Zabbix LLD macro values are strings
        assert (row["host"], row["ibge"], row["municipio"]) == (row["{#HOST}"], row["{#IBGE}"], row["{#MUNICIPIO}"])
        assert row["enabled"] in (0, 1)
        assert row["host_status"] in (0, 1, 2)
        assert row["certificate_days_remaining"] is None or isinstance(row["certificate_days_remaining"], int)
    by_key = dict(((r["{#HOST}"], r["{#IBGE}"]), r) for r in document["data"])
    assert len(by_key) == len(document["data"])  # discovery keys are unique
    assert by_key[("pec-consorcio-vale", "3519071")]["certificate_days_remaining"] == -3
    assert by_key[("pec-consorcio-vale", "3519071")]["{#MUNICIPIO}"] == "Hortolândia"
    assert by_key[("pec-sem-ansible", "")]["certificate_days_remaining"] is None
    assert document["audit"]["timestamp_seconds"] == calendar.timegm(sf.NOW.utctimetuple())


def test_zabbix_and_prometheus_carry_the_same_values(report):
    families = _families(_monitoring.prometheus_text(report))
    days = _samples(families["rnds_certificate_days_remaining"])
    enabled = _samples(families["rnds_enabled"])
    problems = _samples(families["rnds_audit_problems"])
    document = json.loads(_monitoring.zabbix_lld(report))
    assert len(document["data"]) == len(enabled)
    for row in document["data"]:
        key = _key(row["{#HOST}"], row["{#IBGE}"], row["{#MUNICIPIO}"])
        assert enabled[key] == row["enabled"]
        assert days.get(key) == row["certificate_days_remaining"]
    assert document["audit"]["problems"] == dict((k[0][1], int(v)) for k, v in problems.items())


def test_empty_fleet():
    report = {"generated_at": "2026-03-10T15:30:00Z", "hosts": []}
    families = _families(_monitoring.prometheus_text(report))
    assert families["rnds_enabled"].samples == []
    assert _samples(families["rnds_audit_problems"]) == {(("severity", "error"),): 0, (("severity", "warning"),): 0}
    assert json.loads(_monitoring.zabbix_lld(report))["data"] == []


@pytest.mark.parametrize("text, expected", [
    ("2026-03-10T15:30:00Z", 1773156600),
    ("2026-03-10T15:30:00+00:00", 1773156600),
    ("2026-03-10T12:30:00-03:00", 1773156600),
    ("2026-03-10T15:30:00.250000Z", 1773156600.25),
])
def test_timestamp_seconds(text, expected):
    assert _monitoring.timestamp_seconds(text) == expected


def test_label_values_with_backslash_and_newline():
    report = {"generated_at": "2026-03-10T15:30:00Z", "hosts": [
        {"host": "a\\b", "status": "ok", "rnds_enabled": True, "problem_details": [],
         "municipios": [{"ibge": "1", "nome": "linha\nnova", "rnds_enabled": True, "days_remaining": 5}]}]}
    text = _monitoring.prometheus_text(report)
    assert 'host="a\\\\b"' in text and 'municipio="linha\\nnova"' in text
    days = _samples(_families(text)["rnds_certificate_days_remaining"])
    assert days == {_key("a\\b", "1", "linha\nnova"): 5}
