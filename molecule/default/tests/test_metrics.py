# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario `default`: round trips per host of site.yml (a third run) and audit.yml --check.

Counts, per host, the task results of each module/action (JSON callback) and the docker CLI
calls the connection made to the container (a logging ``docker`` shim first on PATH), and the
PEC requests of each run in the simulator's request log (one Login/Sessao/Logout per CPF, one
SelecionarAcesso per municipality). The numbers are saved in
$MOLECULE_EPHEMERAL_DIRECTORY/metrics-default.json and printed.
"""

from __future__ import annotations

import json
import os
import time

import moltest


def _measure(playbook, *args):
    calls = moltest.DockerCallLog()
    try:
        start = time.monotonic()
        run = moltest.run_playbook(playbook, *args, env=calls.env)
        elapsed = round(time.monotonic() - start, 1)
        hosts = sorted(run.stats)
        return run, elapsed, calls.counts(hosts)
    finally:
        calls.close()


def test_site_and_audit_round_trips_per_host():
    inventory = moltest.resolved()
    hosts = sorted(inventory)
    before = dict((host, moltest.snapshot(host)) for host in hosts)

    site, site_seconds, site_calls = _measure("site.yml")
    assert site.rc == 0, site.describe()
    after_site = dict((host, moltest.snapshot(host)["requests"]) for host in hosts)
    report_dir = moltest.ephemeral("report-metrics")
    audit, audit_seconds, audit_calls = _measure("audit.yml", "--check", "-e", "rnds_report_dir=" + report_dir)
    assert audit.rc == 0, audit.describe()
    after_audit = dict((host, moltest.snapshot(host)["requests"]) for host in hosts)

    metrics = {"site.yml": {"seconds": site_seconds, "hosts": {}}, "audit.yml --check": {"seconds": audit_seconds, "hosts": {}}}
    for host in hosts:
        data = inventory[host]
        municipios = len(data["municipios"])
        certificates = len(moltest.certificate_names(data))
        # A third site.yml run changes nothing and enables nothing again.
        assert site.changed(host) == 0, site.describe()
        assert moltest.snapshot(host)["audit"] == before[host]["audit"]

        site_modules = site.module_counts(host)
        # one pec_certificate task per host (its `results` list one entry per certificate file)
        assert site_modules.get("esus.rnds.pec_certificate") == certificates, site_modules
        assert set(site_modules) == {"esus.rnds.pec_certificate", "esus.rnds.pec_rnds"}, site_modules
        # ONE pec_rnds execution per host, whatever the number of municipalities.
        assert site_modules.get("esus.rnds.pec_rnds") == 1, site_modules
        results = dict((m["ibge"], m) for m in moltest.pec_rnds_results(site, host))
        assert sorted(results) == sorted(m["ibge"] for m in data["municipios"]), results
        for entry in data["municipios"]:
            got = results[entry["ibge"]]
            assert got["status"] == "ok" and got["changed"] is False, got
            assert got["state"]["certificate"] == entry["certificate_name"], got
            assert set(entry["services"]) <= set(got["state"]["services"]), got
        # The PEC requests of this one run (request log slice): one session per CPF.
        old = len(before[host]["requests"])
        moltest.assert_one_session_per_cpf(after_site[host][old:], data, label="site.yml " + host)
        moltest.assert_one_session_per_cpf(after_audit[host][len(after_site[host]):], data,
                                           label="audit.yml --check " + host)
        # One docker exec per module execution on the host (pipelining), no file copy, plus one
        # for the Python interpreter discovery.
        assert site_calls[host]["exec"] == certificates + 1, site_calls[host]
        assert site_calls[host]["discovery"] == 1, site_calls[host]
        assert site_calls[host]["cp"] == 0, site_calls[host]

        # ONE audit task per host (esus.rnds.pec_audit), which runs pec_info and pec_rnds_info on the host.
        audit_modules = audit.module_counts(host)
        assert audit_modules.get("esus.rnds.pec_audit") == 1, audit_modules
        assert set(audit_modules) <= {"esus.rnds.pec_audit", "esus.rnds.rnds_report"}, audit_modules
        assert audit_calls[host]["exec"] == 2, audit_calls[host]
        assert audit_calls[host]["discovery"] == 1, audit_calls[host]
        assert audit_calls[host]["cp"] == 0, audit_calls[host]

        metrics["site.yml"]["hosts"][host] = {"municipios": municipios, "certificados": certificates,
                                              "docker": site_calls[host], "tarefas": site_modules}
        metrics["audit.yml --check"]["hosts"][host] = {"municipios": municipios, "docker": audit_calls[host],
                                                       "tarefas": audit_modules}

    with open(os.path.join(report_dir, "rnds-report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    assert sorted(h["host"] for h in report["hosts"]) == hosts
    assert all(h["rnds_enabled"] for h in report["hosts"]), report["hosts"]
    moltest.write_metrics("default", metrics)
