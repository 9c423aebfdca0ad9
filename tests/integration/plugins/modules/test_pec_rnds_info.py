# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.pec_rnds_info run for real (ansible-playbook, connection local) against the simulator."""

import os
import sys

import pytest
from cryptography.hazmat.primitives import hashes

import testca

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "pec_simulator"))

from harness import closed_port, cpf, run_playbook, sim_factory  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

SP_PASSWORD = "sp " + testca.HARD_PASSWORD
RJ_PASSWORD = "rj-Sênha!"
SP_ADMIN = cpf(21)
RJ_ADMIN = cpf(22)
SP = "3550308"
RJ = "3304557"
STATE_KEYS = {"enabled", "enabled_at", "certificate", "services", "fingerprint_sha256", "not_after", "requester_id",
              "file_sha256"}
ENABLE = ("mutation HabilitarCertificado($input: HabilitarCertificadoInput!) { habilitarCertificado(input: $input) "
          "{ certificado servicos } }")


def info_task(**args):
    base = {"url": "{{ pec_url }}"}
    base.update(args)
    return {"name": "pec_rnds_info", "esus.rnds.pec_rnds_info": base, "register": "out"}


@pytest.fixture
def leaf(test_ca):
    return test_ca.issue_ecnpj()


@pytest.fixture
def multi(sim_factory, leaf):  # pylint: disable=redefined-outer-name
    """Two municipalities, one admin each, RNDS and CADSUS enabled for SP only (one certificate)."""
    sim = sim_factory(admins=["%s:%s:%s" % (SP_ADMIN, SP_PASSWORD, SP), "%s:%s:%s" % (RJ_ADMIN, RJ_PASSWORD, RJ)],
                      municipios=[SP, RJ], start=False)
    os.makedirs(sim.chaves)
    testca.write_pkcs12(os.path.join(sim.chaves, "sp.pfx"), leaf, "senha-sp")
    testca.write_pkcs12(os.path.join(sim.chaves, "rj.p12"), leaf, "senha-rj")
    sim.start()
    session = sim.session()
    session.home()
    session.login(SP_ADMIN, SP_PASSWORD)
    session.selecionar_acesso(SP)
    status, document = session.call(ENABLE, {"input": {"certificado": "sp.pfx", "senha": "senha-sp",
                                                       "identificadorSolicitante": "4507",
                                                       "servicos": ["RNDS", "CADSUS"]}})[:2]
    assert status == 200 and document["data"]["habilitarCertificado"]["certificado"] == "sp.pfx", document
    session.logout()
    return sim


def secrets_vars(sim):
    return {"pec_url": sim.url, "sp_password": SP_PASSWORD, "rj_password": RJ_PASSWORD}


def admins(rj_password="{{ rj_password }}"):
    return [
        {"ibge": SP, "username": SP_ADMIN, "password": "{{ sp_password }}"},
        {"ibge": RJ, "username": RJ_ADMIN, "password": rj_password},
    ]


def test_multimunicipal_state(multi, leaf, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path, [info_task(municipios=admins())], secrets_vars(multi))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["reachable"] is True and result["pec_version"] and result["contract"] == "modelo"
    sp, rj = result["municipios"]
    assert (sp["ibge"], sp["nome"], sp["status"]) == (SP, "São Paulo", "ok")
    assert set(sp["state"]) == STATE_KEYS
    assert sp["state"]["certificate"] == "sp.pfx" and sp["state"]["services"] == ["cadsus", "rnds"]
    assert sp["state"]["fingerprint_sha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert sp["state"]["requester_id"] == "4507"
    assert rj["state"]["enabled"] is False and rj["state"]["services"] == []
    assert sorted(result["certificates_available"]) == ["rj.p12", "sp.pfx"]
    assert "contra_chave" not in result
    ops = [r["operation"] for r in multi.requests()]
    assert ops.count("Login") == 3 and ops.count("Logout") == 3  # fixture 1 + one per admin
    assert "HabilitarCertificado" not in ops[ops.index("Logout") + 1:]  # read-only
    assert SP_PASSWORD not in proc.stdout and RJ_PASSWORD not in proc.stdout


def test_contra_chave_only_when_asked(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    task = dict(info_task(municipios=admins(), return_contra_chave=True), no_log=True)
    proc, (result,) = run_playbook(run_ansible, tmp_path, [task], secrets_vars(multi))
    assert proc.returncode == 0, proc.stdout
    # no_log hides the result from the callback: the value is checked through the simulator's state.
    assert result.get("censored"), result
    proc, (result,) = run_playbook(run_ansible, tmp_path / "b", [info_task(municipios=admins()[:1],
                                                                           return_contra_chave=True)],
                                   secrets_vars(multi))
    contra = multi.state()["contra_chave"]
    assert result["contra_chave"] == contra
    assert len(contra.split("-")) == 8 and all(len(group) == 4 for group in contra.split("-"))


def test_one_wrong_admin_does_not_hide_the_others(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path, [info_task(municipios=admins("errada"))], secrets_vars(multi))
    assert proc.returncode == 0, proc.stdout
    sp, rj = result["municipios"]
    assert sp["status"] == "ok" and sp["state"]["enabled"] is True
    assert rj["status"] == "error" and rj["error_code"] == "login_refused" and rj["state"] is None
    assert multi.stats()["failed_logins"].get(RJ_ADMIN) == 1


def test_person_logged_in_is_reported_not_thrown_out(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    person = multi.session()
    person.home()
    person.login(RJ_ADMIN, RJ_PASSWORD)
    tasks = [info_task(municipios=admins()),
             dict(info_task(municipios=admins(), option_labels={"force_login": "rnds_pec_force_login"}),
                  register="labelled")]
    proc, (result, labelled) = run_playbook(run_ansible, tmp_path, tasks, secrets_vars(multi))
    rj = result["municipios"][1]
    assert rj["error_code"] == "already_logged_in" and "sessão aberta" in rj["error"], proc.stdout
    assert "use force_login: true" in rj["error"]
    # Through the audit role (option_labels) the same error names the inventory variable.
    assert "use rnds_pec_force_login: true" in labelled["municipios"][1]["error"]
    assert any("use rnds_pec_force_login: true" in warning for warning in labelled["warnings"])
    assert multi.stats()["sessions_ended_by_force"] == 0


def test_manual_pending_without_the_certificate_api(sim_factory, run_ansible, tmp_path):
    sim = sim_factory(admins=["%s:%s:%s" % (SP_ADMIN, SP_PASSWORD, SP)], municipios=[SP],
                      extra_args=["--no-certificate-api"])
    proc, (result,) = run_playbook(run_ansible, tmp_path, [info_task(municipios=admins()[:1])], secrets_vars(sim))
    assert proc.returncode == 0, proc.stdout
    (sp,) = result["municipios"]
    assert sp["status"] == "manual_pending" and sp["error_code"] == "contract_mismatch"
    assert result["certificates_available"] == []


def test_single_admin_without_ibge(sim_factory, run_ansible, tmp_path):
    sim = sim_factory(admins=["%s:%s:%s" % (SP_ADMIN, SP_PASSWORD, SP)], municipios=[SP])
    proc, (result,) = run_playbook(run_ansible, tmp_path, [info_task(username=SP_ADMIN, password="{{ sp_password }}")],
                                   secrets_vars(sim))
    assert proc.returncode == 0, proc.stdout
    assert [(m["ibge"], m["status"]) for m in result["municipios"]] == [(SP, "ok")]


def test_unreachable_is_reported_not_failed(run_ansible, tmp_path):
    url = "http://127.0.0.1:%d" % closed_port()
    tasks = [
        info_task(username=SP_ADMIN, password="{{ sp_password }}", retries=0),
        dict(info_task(username=SP_ADMIN, password="{{ sp_password }}", retries=0, fail_on_unreachable=True),
             register="strict", ignore_errors=True),
    ]
    proc, (soft, strict) = run_playbook(run_ansible, tmp_path, tasks, {"pec_url": url, "sp_password": SP_PASSWORD})
    assert soft.get("failed") is not True
    assert soft["reachable"] is False
    assert soft["error_code"] == "unreachable"
    assert soft["error"].startswith("PEC não responde em %s" % url)
    assert soft["municipios"] == [] and soft["pec_version"] is None
    assert strict["failed"] is True and strict["msg"] == soft["error"]
    assert SP_PASSWORD not in proc.stdout


def test_faulty_pec_is_unreachable_with_reason(sim_factory, run_ansible, tmp_path):
    sim = sim_factory(admins=["%s:%s" % (SP_ADMIN, SP_PASSWORD)], faults=["garbage=always"])
    task = info_task(username=SP_ADMIN, password="{{ sp_password }}")
    proc, (result,) = run_playbook(run_ansible, tmp_path, [task], secrets_vars(sim))
    assert proc.returncode == 0
    assert result["reachable"] is True  # GET / answers; the GraphQL answers are garbage
    (municipio,) = result["municipios"]
    assert municipio["error_code"] == "bad_response" and "não é JSON" in municipio["error"]


def test_https_with_ca_path_and_without_validation(sim_factory, test_ca, run_ansible, tmp_path):
    cert, key = testca.write_pem_files(str(tmp_path), test_ca.issue_server("127.0.0.1"), "server")
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(test_ca.ca_bundle_pem())
    sim = sim_factory(admins=["%s:%s" % (SP_ADMIN, SP_PASSWORD)], https_cert=cert, https_key=key)
    tasks = [
        info_task(username=SP_ADMIN, password="{{ sp_password }}", retries=0),
        dict(info_task(username=SP_ADMIN, password="{{ sp_password }}", ca_path=str(bundle)), register="ca"),
        dict(info_task(username=SP_ADMIN, password="{{ sp_password }}", validate_certs=False), register="novalidate"),
    ]
    proc, (default, with_ca, no_validation) = run_playbook(run_ansible, tmp_path / "run", tasks, secrets_vars(sim))
    assert proc.returncode == 0, proc.stdout
    assert default["reachable"] is False and default["error_code"] == "tls_verify"
    assert with_ca["reachable"] is True and with_ca["municipios"][0]["error"] is None
    assert no_validation["reachable"] is True
