# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario `default`: state of every PEC container after converge (site.yml) + idempotence.

Runs once per host of the scenario inventory (testinfra ``host`` fixture, docker connection).
Expected values come from the inventory as the roles read it (``moltest.resolved()``) and from
the certificates generated on the controller (``moltest.manifest()``).
"""

from __future__ import annotations

import json
import stat

import pytest

import moltest


@pytest.fixture(scope="module")
def name(host):
    return host.backend.get_hostname()


@pytest.fixture(scope="module")
def expected(name):
    return moltest.resolved()[name]


def test_chaves_folder_owner_and_mode(host):
    chaves = host.file(moltest.CHAVES)
    assert chaves.is_directory
    assert (chaves.user, chaves.group, chaves.mode) == ("root", "root", 0o750)


def test_certificates_deployed_like_the_controller_source(host, expected):
    files = moltest.manifest()
    for cert in moltest.certificate_names(expected):
        deployed = host.file("%s/%s" % (moltest.CHAVES, cert))
        assert deployed.is_file, cert
        assert (deployed.user, deployed.group, deployed.mode) == ("root", "root", 0o640), cert
        assert deployed.sha256sum == files[cert]["sha256"], "%s difere do arquivo de origem no controlador" % cert


def test_chaves_holds_only_the_inventory_certificates_without_world_bits(host, expected):
    entries = host.file(moltest.CHAVES).listdir()
    temp = [e for e in entries if moltest.TEMP_FILE.match(e)]
    assert not temp, "arquivos temporários esquecidos em chaves: %s" % temp
    wanted = set(moltest.certificate_names(expected))
    if expected["prune"]:
        assert set(entries) == wanted
    else:
        assert wanted <= set(entries)
    for entry in entries:
        assert host.file("%s/%s" % (moltest.CHAVES, entry)).mode & stat.S_IRWXO == 0, entry
    assert host.file(moltest.CHAVES).mode & stat.S_IRWXO == 0


def test_replaced_and_pruned_files_are_backed_up_outside_chaves(host, expected):
    fixture_files = expected["fixture"].get("chaves", {}).get("files", [])
    backup_dir = host.file(moltest.BACKUP_DIR)
    if not fixture_files:
        assert not backup_dir.exists, "nada foi substituído em %s, mas há backups" % moltest.CHAVES
        return
    assert backup_dir.is_directory
    assert (backup_dir.user, backup_dir.group, backup_dir.mode) == ("root", "root", 0o700)
    backups = backup_dir.listdir()
    files = moltest.manifest()
    for item in fixture_files:
        ours = [b for b in backups if b.startswith(item["name"] + ".")]
        assert len(ours) == 1, "esperado um backup de %s em %s: %s" % (item["name"], moltest.BACKUP_DIR, backups)
        assert ours[0].endswith(".bak") and not ours[0].lower().endswith((".pfx", ".p12")), ours[0]
        content = host.file("%s/%s" % (moltest.BACKUP_DIR, ours[0]))
        assert content.sha256sum == files[item["source"]]["sha256"], "o backup de %s não é o arquivo antigo" % item["name"]
        assert (content.user, content.mode) == ("root", 0o600), "o backup %s guarda uma chave privada" % ours[0]


def test_pec_reports_rnds_enabled_for_every_municipality(host, expected):
    state = json.loads(host.file(moltest.STATE).content_string)
    files = moltest.manifest()
    for entry in expected["municipios"]:
        got = moltest.certificate_state(state, entry["ibge"])
        cert = files[entry["certificate_name"]]
        # One certificate per municipality, with exactly the services the inventory asks for.
        assert sorted(got["servicos"]) == sorted(moltest.SERVICE_KEYS[s] for s in entry["services"]), (entry["ibge"], got)
        assert got["certificado"] == entry["certificate_name"], (entry["ibge"], got)
        assert got["fingerprintSha256"] == cert["fingerprint_sha256"], (entry["ibge"], got)
        assert got["arquivoSha256"] == cert["sha256"], (entry["ibge"], got)
        assert got["identificadorSolicitante"] == entry["requester_id"], (entry["ibge"], got)
        assert got["habilitadoEm"] and got["validoAte"], (entry["ibge"], got)


def test_audit_log_has_one_enable_per_municipality_and_service(name, expected):
    new = moltest.new_audit_lines(name)
    files = moltest.manifest()
    expected_lines = 0
    for entry in expected["municipios"]:
        fingerprint = files[entry["certificate_name"]]["fingerprint_sha256"]
        for service in entry["services"]:
            action = moltest.ENABLE_ACTION % moltest.SERVICE_KEYS[service]
            lines = [line for line in new if line["municipio"] == entry["ibge"] and line["action"] == action]
            assert len(lines) == 1, "%s/%s: %d linhas de habilitação (converge + idempotence): %s" % (
                entry["ibge"], service, len(lines), lines)
            assert lines[0]["result"] == "sucesso"
            assert lines[0]["certificado"] == entry["certificate_name"]
            assert lines[0]["fingerprint_sha256"] == fingerprint
            # The PEC audits the admin who did it: the CPF, as the PEC knows it (digits only).
            assert lines[0]["user"] == moltest.cpf(entry["admin_user"]), lines[0]
            expected_lines += 1
    assert len(new) == expected_lines, "linhas inesperadas no audit.jsonl: %s" % new
    assert not [line for line in new if line["action"].startswith("Desabilitar")], new


def test_converge_and_idempotence_used_one_pec_session_per_cpf(name, expected):
    """converge + idempotence = two site.yml runs: per run, one Login/Sessao/Logout per CPF and one
    SelecionarAcesso per municipality (the multimunicipal host: one CPF for two municipalities)."""
    lines = moltest.new_requests(name)
    moltest.assert_one_session_per_cpf(lines, expected, runs=2, label=name)
    # Nobody was thrown out of the PEC, nobody is left logged in, no failed login.
    stats = moltest.sim_stats(name)
    assert stats["sessions_ended_by_force"] == 0, stats
    assert not any(stats["sessions"].values()), stats
    assert not stats["locked"] and not any(stats["failed_logins"].values()), stats


def test_no_password_in_pec_files_or_logs(host, expected):
    paths = (moltest.STATE, moltest.AUDIT, moltest.REQUESTS, moltest.SIMULATOR_LOG)
    texts = {path: host.file(path).content_string for path in paths}
    assert texts[moltest.REQUESTS].strip(), "o simulador não registrou pedidos em %s" % moltest.REQUESTS
    for secret in moltest.secrets_of(expected):
        for path, text in texts.items():
            assert secret not in text, "uma senha apareceu em %s" % path


def test_simulator_still_running(name):
    assert moltest.pec_ctl(name, "health")["healthy"] is True
