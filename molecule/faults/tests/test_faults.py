# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario `faults` (issue 4.6): site.yml over a fleet with a PEC down, a wrong admin password,
a PEC that answers 500 for a while, one that refuses every enable with 500, an admin who is using
the PEC when the converge starts, and a PEC without the contract's Certificados operations.

The tests run in file order and share the playbook runs (``RUNS``): first run with the faults,
then the faults are fixed and site.yml runs twice more (converges, then changes nothing).
"""

from __future__ import annotations

import json
import os

import pytest

import moltest

OK, DOWN, SENHA, INSTAVEL, ERRO500, SESSAO, MANUAL = (
    "rnds-faults-ok", "rnds-faults-down", "rnds-faults-senha", "rnds-faults-instavel", "rnds-faults-500",
    "rnds-faults-sessao", "rnds-faults-manual")
HEALTHY = (OK, INSTAVEL)
FAILING = (DOWN, SENHA, ERRO500, SESSAO)
SENHA_CPF = "99351819019"
SESSAO_CPF = "75749118606"
MANUAL_PENDING = "habilitação manual pendente"
# What each failing host must tell the operator (pt-BR, actionable).
MESSAGES = {
    DOWN: ["município 1302603", "PEC não responde em http://127.0.0.1:8080", "systemctl status e-SUS-PEC"],
    SENHA: ["município 2611606", "login recusado para o CPF %s" % SENHA_CPF, "Administrador Municipal",
            "o login não será repetido"],
    ERRO500: ["município 3106200", "respondeu HTTP 500", "journalctl -u e-SUS-PEC", "enviado duas vezes"],
    SESSAO: ["município 3509502", "o CPF %s já tem uma sessão aberta no PEC" % SESSAO_CPF, "nada foi feito",
             "rnds_pec_force_login: true"],
}
RUNS = {}


def _all_secrets():
    values = set()
    for data in moltest.resolved().values():
        values.update(moltest.secrets_of(data))
    return values


def _assert_no_secret(run):
    # The JSON callback escapes non-ASCII characters: look at the parsed results too.
    output = run.stdout + run.stderr + json.dumps(run.data, ensure_ascii=False)
    for secret in _all_secrets():
        assert secret not in output, "uma senha apareceu na saída do ansible-playbook"


def _assert_deployed_cleanly(host, data):
    """The certificate is in chaves whole (same sha256 as the source), no temporary file left."""
    entries = moltest.snapshot(host)["entries"]
    names = [path.split("/", 2)[2] for path in entries if path.startswith("webserver/chaves/")]
    assert not [n for n in names if moltest.TEMP_FILE.match(n)], names
    for cert in moltest.certificate_names(data):
        entry = entries["webserver/chaves/" + cert]
        assert entry["sha256"] == moltest.manifest()[cert]["sha256"], cert
        assert (entry["owner"], entry["mode"]) == ("root", "0640")


def _assert_manual_pending(run, data):
    """The manual host: deployed, reported "habilitação manual pendente" with the steps, not failed."""
    assert run.failures(MANUAL) == 0, run.describe()
    results = moltest.pec_rnds_results(run, MANUAL)
    assert len(results) == 1, results
    pending = results[0]
    assert pending["status"] == "manual_pending" and pending["changed"] is False, pending
    assert pending["error_code"] == "contract_mismatch", pending
    assert MANUAL_PENDING in pending["message"], pending
    steps = " ".join(pending["manual_steps"])
    for fragment in ("Gestão municipal > aba Certificados", data["municipios"][0]["certificate_name"],
                     data["municipios"][0]["requester_id"], "docs/pec-api.md"):
        assert fragment in steps, (fragment, pending["manual_steps"])
    warnings = [w for _n, a, r in run.results(MANUAL) if a == "esus.rnds.pec_rnds" for w in r.get("warnings", [])]
    assert any(MANUAL_PENDING in w for w in warnings), warnings
    assert MANUAL_PENDING in json.dumps(run.data, ensure_ascii=False)
    # Nothing enabled in the PEC, no audit line; the certificate is in chaves for the admin to pick.
    now = moltest.snapshot(MANUAL)
    assert moltest.certificate_state(now["state"], "4205407")["certificado"] is None, now["state"]
    assert moltest.new_audit_lines(MANUAL, now["audit"]) == []
    _assert_deployed_cleanly(MANUAL, data)


@pytest.fixture(scope="module")
def inventory():
    return moltest.resolved()


def test_first_run_healthy_hosts_finish_and_faulty_hosts_fail_clearly(inventory):
    run = RUNS["first"] = moltest.run_playbook("site.yml")
    assert sorted(run.stats) == sorted(inventory), run.describe()
    assert run.rc != 0, run.describe()
    for host in HEALTHY:
        assert run.failures(host) == 0, run.describe()
        assert run.changed(host) > 0, run.describe()
    for host in FAILING:
        assert run.failures(host) == 1, run.describe()
        messages = run.failed_messages(host)
        assert len(messages) == 1, messages
        for fragment in MESSAGES[host]:
            assert fragment in messages[0], (host, fragment, messages[0])
    # The manual host deployed its certificate (a change) and did not fail.
    assert run.changed(MANUAL) > 0, run.describe()
    _assert_manual_pending(run, inventory[MANUAL])
    _assert_no_secret(run)


def test_the_transient_500s_were_absorbed_by_the_retries():
    faults = moltest.pec_ctl(INSTAVEL, "fault")["faults"]
    assert faults["http500"] == 0, faults
    pec_rnds = [r for _n, a, r in RUNS["first"].results(INSTAVEL) if a == "esus.rnds.pec_rnds"]
    assert len(pec_rnds) == 1 and pec_rnds[0]["changed"] is True, pec_rnds
    summary = moltest.request_summary(moltest.new_requests(INSTAVEL))
    # The two 500s hit the state read, which was retried; the single Login was not touched.
    assert summary["operations"]["Login"] == 1, summary
    assert summary["errors"] == [("CertificadoMunicipio", 500)] * 2, summary


def test_a_refused_password_is_tried_once_and_does_not_lock_the_account():
    lines = moltest.new_requests(SENHA)
    assert [(line["operation"], line["classification"]) for line in lines] == [
        ("Login", "PecAuthenticationException")], lines
    assert lines[0]["api_consumer_id"] == moltest.API_CONSUMER_ID, lines
    stats = moltest.sim_stats(SENHA)
    assert stats["failed_logins"] == {SENHA_CPF: 1}, stats
    assert stats["locked"] == [], stats


def test_a_person_using_the_pec_is_not_thrown_out():
    stats = moltest.sim_stats(SESSAO)
    assert stats["sessions_ended_by_force"] == 0, stats
    # The person's session (opened in prepare) is still there; the collection opened none.
    assert stats["sessions"] == {SESSAO_CPF: 1}, stats
    lines = moltest.new_requests(SESSAO)
    assert [(line["operation"], line["classification"]) for line in lines] == [
        ("Login", "UsuarioJaLogadoException")], lines
    assert not [line for line in moltest.new_audit_lines(SESSAO) if "sessão" in line["action"]]


def test_manual_fallback_false_makes_the_pending_enable_a_failure(inventory):
    run = moltest.run_playbook("site.yml", "--limit", MANUAL, "-e", '{"rnds_pec_manual_fallback": false}')
    assert run.rc != 0 and sorted(run.stats) == [MANUAL], run.describe()
    assert run.failures(MANUAL) == 1, run.describe()
    messages = run.failed_messages(MANUAL)
    assert len(messages) == 1, messages
    for fragment in ("município 4205407", "não reconhece", "contrato modelo", "docs/pec-api.md"):
        assert fragment in messages[0], (fragment, messages[0])
    assert moltest.certificate_state(moltest.snapshot(MANUAL)["state"], "4205407")["certificado"] is None
    _assert_no_secret(run)


def test_failed_hosts_are_left_as_they_were(inventory):
    for host in FAILING:
        before = moltest.baseline(host)
        now = moltest.snapshot(host)
        # The PEC state did not move: the host that was enabled still is, with its old certificate.
        assert now["state"] == before["state"], host
        assert moltest.new_audit_lines(host, now["audit"]) == [], host
        # The certificate step ran before the failure: the new file is complete, not half-written.
        _assert_deployed_cleanly(host, inventory[host])
    old = moltest.certificate_state(moltest.snapshot(ERRO500)["state"], "3106200")
    assert old["servicos"] == ["RNDS"] and old["certificado"] == "antigo-fms-3106200.pfx", old


def test_fix_the_faults_and_converge(inventory):
    # PEC down: start it. HTTP 500 on every enable: clear the fault (docker exec). Wrong admin
    # password: fix it in an override inventory (a host variable beats the group_vars). The
    # person using the PEC logs out (their session ends).
    assert moltest.pec_ctl(DOWN, "start")["changed"] is True
    assert moltest.pec_ctl(ERRO500, "fault", '{"clear": true}')["faults"]["http500"] == 0
    moltest.pec_ctl(SESSAO, "fault", '{"expire_sessions": "now"}')
    assert not any(moltest.sim_stats(SESSAO)["sessions"].values())
    correct = inventory[SENHA]["fixture"]["admins"][0]["admin_password"]
    override = moltest.ephemeral("fix-inventory.yml")
    fd = os.open(override, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("all:\n  hosts:\n    %s:\n      rnds_pec_admin_password: %s\n" % (SENHA, json.dumps(correct)))
    RUNS["override"] = override

    run = RUNS["fixed"] = moltest.run_playbook("site.yml", inventories=[override])
    assert run.rc == 0, run.describe()
    for host in inventory:
        assert run.failures(host) == 0, run.describe()
    for host in FAILING:
        assert run.changed(host) > 0, run.describe()
    for host in HEALTHY + (MANUAL,):
        assert run.changed(host) == 0, run.describe()
    _assert_manual_pending(run, inventory[MANUAL])
    _assert_no_secret(run)


def test_second_run_after_the_fix_changes_nothing(inventory):
    run = moltest.run_playbook("site.yml", inventories=[RUNS["override"]])
    assert run.rc == 0, run.describe()
    for host in inventory:
        assert run.changed(host) == 0, run.describe()
    _assert_manual_pending(run, inventory[MANUAL])


def test_every_host_ends_enabled_with_one_enable_each(inventory):
    files = moltest.manifest()
    for host, data in inventory.items():
        if host == MANUAL:
            continue
        now = moltest.snapshot(host)
        _assert_deployed_cleanly(host, data)
        for entry in data["municipios"]:
            got = moltest.certificate_state(now["state"], entry["ibge"])
            assert got["servicos"] == ["RNDS"] and got["certificado"] == entry["certificate_name"], (host, got)
            assert got["fingerprintSha256"] == files[entry["certificate_name"]]["fingerprint_sha256"], host
            assert got["identificadorSolicitante"] == entry["requester_id"], host
        new = moltest.new_audit_lines(host, now["audit"])
        assert [(line["action"], line["result"]) for line in new] == [("Habilitar o PEC a acessar RNDS", "sucesso")], (host, new)
        # Every session the collection opened was closed; nobody was thrown out; no lock.
        stats = moltest.sim_stats(host)
        assert not any(stats["sessions"].values()) and stats["sessions_ended_by_force"] == 0, (host, stats)
        assert not stats["locked"], (host, stats)
        summary = moltest.request_summary(moltest.new_requests(host))
        assert summary["consumers"] == {moltest.API_CONSUMER_ID}, (host, summary)
    # The refused password was never sent again: one refused Login over the four runs.
    refused = [line for line in moltest.new_requests(SENHA) if line.get("classification") == "PecAuthenticationException"]
    assert len(refused) == 1, refused
