# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario `check`: check mode changes nothing; the audit in check mode reports the fleet.

Molecule already ran ``playbooks/site.yml --check`` (the `check` action). The tests compare every
container with the snapshot prepare took (files under /opt/e-SUS with owner/mode/sha256,
state.json, audit.jsonl), then run ``site.yml --check --diff`` and ``audit.yml --check``
themselves and compare again.
"""

from __future__ import annotations

import csv
import json
import os

import pytest

import moltest

REPORT_FILES = ("rnds-report.json", "rnds-report.csv", "rnds-report.html")


def assert_unchanged(host):
    """The container is exactly as prepare left it."""
    before = moltest.baseline(host)
    now = moltest.snapshot(host)
    differ = sorted(path for path in set(now["entries"]) | set(before["entries"])
                    if now["entries"].get(path) != before["entries"].get(path))
    assert not differ, "arquivos de %s mudaram em modo check: %s" % (host, differ)
    assert now["state"] == before["state"], "state.json de %s mudou em modo check" % host
    assert now["audit"] == before["audit"], "audit.jsonl de %s ganhou linhas em modo check: %s" % (
        host, now["audit"][len(before["audit"]):])
    # Check mode reads the PEC (Login, Sessao, reads, Logout) but never sends a mutation.
    mutations = [line["operation"] for line in moltest.new_requests(host, now["requests"])
                 if line.get("operation") in ("HabilitarCertificado", "DesabilitarCertificado")]
    assert not mutations, "mutações enviadas ao PEC de %s em modo check: %s" % (host, mutations)
    stats = moltest.sim_stats(host)
    assert stats["sessions_ended_by_force"] == 0 and not any(stats["sessions"].values()), stats


@pytest.fixture(scope="module")
def name(host):
    return host.backend.get_hostname()


def test_molecule_check_changed_nothing(host, name):
    data = moltest.resolved()[name]
    assert_unchanged(name)
    chaves = host.file(moltest.CHAVES)
    if data["fixture"].get("chaves"):
        # The hand-made chaves of the fixture is still there, wrong modes included.
        assert (chaves.user, chaves.mode) == (data["fixture"]["chaves"]["owner"], int(data["fixture"]["chaves"]["mode"], 8))
        for item in data["fixture"]["chaves"]["files"]:
            old = host.file("%s/%s" % (moltest.CHAVES, item["name"]))
            assert (old.user, old.mode) == (item["owner"], int(item["mode"], 8))
            assert old.sha256sum == moltest.manifest()[item["source"]]["sha256"]
    else:
        assert not chaves.exists, "o modo check criou %s em %s" % (moltest.CHAVES, name)
    assert not host.file(moltest.BACKUP_DIR).exists
    enables = moltest.enable_lines(moltest.snapshot(name)["audit"])
    assert len(enables) == len(data["fixture"].get("enabled", [])), enables


def test_site_check_diff_predicts_changes_without_secrets():
    inventory = moltest.resolved()
    run = moltest.run_playbook("site.yml", "--check", "--diff")
    assert run.rc == 0, run.describe()
    output = run.stdout + run.stderr
    for host, data in inventory.items():
        assert run.failures(host) == 0, run.describe()
        deploys = [r for _n, a, r in run.results(host) if a == "esus.rnds.pec_certificate"]
        assert len(deploys) == len(moltest.certificate_names(data))
        assert all(r["changed"] for r in deploys), "%s: o modo check deveria prever a cópia do certificado" % host
        for secret in moltest.secrets_of(data):
            assert secret not in output, "uma senha de %s apareceu na saída de site.yml --check --diff" % host
        # One pec_rnds execution per host, one result per municipality.
        assert run.module_counts(host).get("esus.rnds.pec_rnds") == 1, run.module_counts(host)
        enables = moltest.pec_rnds_results(run, host)
        assert sorted(r["ibge"] for r in enables) == sorted(m["ibge"] for m in data["municipios"]), enables
        if not data["fixture"].get("enabled"):
            assert all(r["changed"] and r["status"] == "changed" for r in enables), enables
            for result in enables:
                # Predicted state: the inventory's certificate with the inventory's services.
                wanted = [m for m in data["municipios"] if m["ibge"] == result["ibge"]][0]
                assert result["state"]["certificate"] == wanted["certificate_name"], result
                assert sorted(result["state"]["services"]) == sorted(wanted["services"]), result
    for host in inventory:
        assert_unchanged(host)


def test_site_check_predicts_reenable_of_a_renewed_file_with_the_same_name():
    inventory = moltest.resolved()
    renewed = [host for host, data in inventory.items() if data["fixture"].get("enabled")]
    assert renewed
    run = moltest.run_playbook("site.yml", "--check")
    assert run.rc == 0, run.describe()
    for host in renewed:
        enables = moltest.pec_rnds_results(run, host)
        assert enables and all(r["changed"] and r["status"] == "changed" for r in enables), [
            r.get("message") for r in enables]


def test_audit_check_writes_the_report_and_changes_nothing():
    inventory = moltest.resolved()
    report_dir = moltest.ephemeral("report")
    run = moltest.run_playbook("audit.yml", "--check", "-e", "rnds_report_dir=" + report_dir)
    assert run.rc == 0, run.describe()
    for name in REPORT_FILES:
        assert os.path.getsize(os.path.join(report_dir, name)) > 0, name
    with open(os.path.join(report_dir, "rnds-report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    by_host = dict((entry["host"], entry) for entry in report["hosts"])
    assert sorted(by_host) == sorted(inventory)
    for host, data in inventory.items():
        entry = by_host[host]
        codes = [p["code"] for p in entry["problem_details"]]
        ibges = [m["ibge"] for m in entry["municipios"]]
        assert sorted(ibges) == sorted(m["ibge"] for m in data["municipios"]), entry["municipios"]
        assert entry["status"] == "error", entry
        assert entry["reachable"] is True, entry
        if data["fixture"].get("enabled"):
            # Enabled with the old certificate, in a chaves folder open to everybody.
            assert entry["rnds_enabled"] is True, entry
            assert entry["rnds_status"] == "enabled", entry
            assert "chaves_world_accessible" in codes
            assert codes.count("file_world_readable") == len(data["fixture"]["chaves"]["files"]), codes
            assert "stray_certificate" in codes, codes
            assert "certificate_expiring" in codes, codes
        else:
            assert entry["rnds_enabled"] is False, entry
            assert entry["rnds_status"] == "disabled", entry
            assert "chaves_missing" in codes, codes
            assert entry["certificate"] is None
            for municipio in entry["municipios"]:
                assert municipio["status"] == "error" and municipio["rnds_enabled"] is False, municipio
                assert municipio["rnds_status"] == "disabled", municipio
            for expected in data["municipios"]:
                scoped = [p["code"] for p in entry["problem_details"] if p["scope"] == expected["ibge"]]
                assert "rnds_not_enabled" in scoped, (expected["ibge"], scoped)
                if "cadsus" in expected["services"]:
                    assert "cadsus_not_enabled" in scoped, (expected["ibge"], scoped)
        for problem in entry["problems"]:
            assert problem and problem[0].isupper(), problem
    with open(os.path.join(report_dir, "rnds-report.csv"), encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    csv_text = "\n".join(",".join(row) for row in rows)
    with open(os.path.join(report_dir, "rnds-report.html"), encoding="utf-8") as handle:
        html_text = handle.read()
    for host, data in inventory.items():
        assert host in csv_text and host in html_text
        for secret in moltest.secrets_of(data):
            for name in REPORT_FILES:
                with open(os.path.join(report_dir, name), encoding="utf-8") as handle:
                    assert secret not in handle.read(), "uma senha de %s apareceu em %s" % (host, name)
    for host in inventory:
        assert_unchanged(host)
