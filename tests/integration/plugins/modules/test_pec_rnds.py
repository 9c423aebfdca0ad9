# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.pec_rnds run for real (ansible-playbook, connection local) against the simulator.

The simulator speaks the session protocol public clients of real PECs show (CPF login with
Api-Consumer-Id, one session per user, account lock, access selection, logout) and logs every
request (never the values): the tests count round trips from that log, from the outside.
"""

import json
import os
import sys

import pytest
from cryptography.hazmat.primitives import hashes

import testca

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "pec_simulator"))

from harness import RawSession, cpf, format_cpf, run_playbook, sim_factory  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

ADMIN_PASSWORD = "Adm!n " + testca.HARD_PASSWORD
CERT_PASSWORD = testca.HARD_PASSWORD
WRONG_PASSWORD = "Errada ção `uname` $PATH 'x'"
ADMIN = cpf(11)
OTHER = cpf(12)
SP = "3550308"
RJ = "3304557"
BH = "3106200"
# What the roles pass as option_labels (module option -> the inventory variable that feeds it).
ROLE_LABELS = {"force_login": "rnds_pec_force_login", "retry_refused_login": "rnds_pec_retry_refused_login",
               "api_contract": "rnds_pec_api_contract", "requester_id": "rnds_requester_id",
               "certificate": "rnds_certificate_name", "certificate_password": "rnds_certificate_password"}


def fingerprint(leaf):
    return leaf.cert.fingerprint(hashes.SHA256()).hex()


def enable_task(**overrides):
    args = {
        "url": "{{ pec_url }}",
        "username": format_cpf(ADMIN),  # punctuation in the inventory: sent as digits
        "password": "{{ admin_password }}",
        "certificate": "fms.pfx",
        "certificate_password": "{{ cert_password }}",
        "requester_id": "4507",
    }
    args.update(overrides)
    args = dict((key, value) for key, value in args.items() if value is not None)
    return {"name": "pec_rnds", "esus.rnds.pec_rnds": args, "register": "out", "ignore_errors": True}


@pytest.fixture
def leaf(test_ca):
    return test_ca.issue_ecnpj()


def _pec(sim_factory, leaf, admins, municipios, **kwargs):  # pylint: disable=redefined-outer-name
    sim = sim_factory(admins=admins, municipios=municipios, start=False, **kwargs)
    os.makedirs(sim.chaves)
    testca.write_pkcs12(os.path.join(sim.chaves, "fms.pfx"), leaf, CERT_PASSWORD, flavour="legacy-rc2")
    return sim.start()


@pytest.fixture
def pec(sim_factory, leaf):  # pylint: disable=redefined-outer-name
    return _pec(sim_factory, leaf, ["%s:%s:%s" % (ADMIN, ADMIN_PASSWORD, SP)], [SP])


@pytest.fixture
def multi(sim_factory, leaf):  # pylint: disable=redefined-outer-name
    """Three municipalities, one Administrador Municipal (one CPF) for all of them."""
    admins = ["%s:%s:%s" % (ADMIN, ADMIN_PASSWORD, ibge) for ibge in (SP, RJ, BH)]
    return _pec(sim_factory, leaf, admins, [SP, RJ, BH])


def variables(sim, **extra):
    data = {"pec_url": sim.url, "admin_password": ADMIN_PASSWORD, "cert_password": CERT_PASSWORD}
    data.update(extra)
    return data


def requests(sim):
    return sim.requests()


def operations(sim):
    return [r["operation"] for r in requests(sim)]


def stats(sim):
    return sim.stats()


def assert_no_secret(proc):
    for text in (proc.stdout, proc.stderr):
        assert ADMIN_PASSWORD not in text
        assert CERT_PASSWORD not in text
        assert WRONG_PASSWORD not in text


def three(ibges=(SP, RJ, BH), **extra):
    return [dict({"ibge": ibge}, **extra) for ibge in ibges]


def test_check_mode_then_enable_then_idempotent(pec, leaf, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    # 1. Check mode: predicts the change, sends no mutation, logs in and out once.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r1", [enable_task()], variables(pec), check=True, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    (municipio,) = result["municipios"]
    assert municipio["ibge"] is None and municipio["status"] == "changed" and municipio["acted"] == ["rnds"]
    assert municipio["state"]["certificate"] == "fms.pfx"  # the prediction
    assert result["diff"]["before"]["?"]["certificate"] is None
    assert result["diff"]["after"]["?"]["services"] == ["rnds"]
    ops = operations(pec)
    assert "HabilitarCertificado" not in ops
    assert ops.count("Login") == 1 and ops.count("Logout") == 1
    assert pec.state()["municipios"][SP]["certificado"]["certificado"] is None
    assert_no_secret(proc)

    # 2. Real run: enabled, the answer verified, the fingerprint the PEC read returned.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r2", [enable_task()], variables(pec), diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (municipio,) = result["municipios"]
    assert result["changed"] is True and municipio["status"] == "changed"
    assert municipio["nome"] == "São Paulo"
    assert municipio["state"]["services"] == ["rnds"]
    assert municipio["state"]["fingerprint_sha256"] == fingerprint(leaf)
    assert municipio["state"]["requester_id"] == "4507"
    assert_no_secret(proc)

    # 3. Again: nothing to do, no mutation.
    before = operations(pec).count("HabilitarCertificado")
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r3", [enable_task()], variables(pec))
    assert proc.returncode == 0 and result["changed"] is False, proc.stdout
    assert result["municipios"][0]["status"] == "ok"
    assert operations(pec).count("HabilitarCertificado") == before
    audit = pec.audit_lines()
    assert [a["action"] for a in audit if a["result"] == "sucesso"] == ["Habilitar o PEC a acessar RNDS"]


def test_request_log_three_municipios_one_admin(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    """Done-when of the protocol issue: 1 Login (with the headers), 1 Sessao, 3 SelecionarAcesso,
    the certificate operations, 1 Logout — in one module run."""
    task = enable_task(username=None, password=None, municipios=three(username=ADMIN, password="{{ admin_password }}"))
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [task], variables(multi))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [m["status"] for m in result["municipios"]] == ["changed"] * 3
    log = requests(multi)
    ops = [r["operation"] for r in log]
    assert ops.count("Login") == 1 and ops.count("Sessao") == 1 and ops.count("Logout") == 1
    assert ops.count("SelecionarAcesso") == 3
    assert ops.count("HabilitarCertificado") == 3 and ops.count("CertificadoMunicipio") == 3
    assert ops[0] == "Login" and ops[-1] == "Logout"
    for entry in log:
        assert entry["api_consumer_id"] == "ESUS_WEB_CLIENT"
        assert entry["client_name"] == "PEC Web" and entry["client_version"]
    assert all(entry["xsrf_header"] for entry in log)  # the XSRF cookie of GET / is echoed
    assert stats(multi)["sessions"].get(ADMIN, 0) == 0  # logged out
    with open(os.path.join(multi.install_dir, "pec-simulator", "requests.jsonl"), encoding="utf-8") as handle:
        text = handle.read()
    assert ADMIN_PASSWORD not in text and CERT_PASSWORD not in text
    # Nothing to do the second time: still one login, reads only.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r2", [task], variables(multi))
    assert result["changed"] is False, proc.stdout
    ops = operations(multi)[len(ops):]
    assert ops.count("Login") == 1 and ops.count("Logout") == 1 and "HabilitarCertificado" not in ops


def test_person_logged_in_is_never_thrown_out(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    person = pec.session()
    person.home()
    person.login(ADMIN, ADMIN_PASSWORD)
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task()], variables(pec))
    assert result["failed"] is True
    (municipio,) = result["municipios"]
    assert municipio["error_code"] == "already_logged_in"
    assert "já tem uma sessão aberta" in result["msg"] and "use force_login: true" in result["msg"]
    # Through a role (option_labels), the same message names the inventory variable to change.
    proc, (labelled,) = run_playbook(run_ansible, tmp_path / "r2", [enable_task(option_labels=ROLE_LABELS)],
                                     variables(pec))
    assert labelled["municipios"][0]["error_code"] == "already_logged_in"
    assert "use rnds_pec_force_login: true" in labelled["msg"] and "{option:" not in labelled["msg"]
    assert stats(pec)["sessions_ended_by_force"] == 0
    assert person.sessao() is not None  # the person still works
    assert operations(pec).count("HabilitarCertificado") == 0
    assert_no_secret(proc)


def test_force_login_ends_the_session_with_a_warning(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    person = pec.session()
    person.home()
    person.login(ADMIN, ADMIN_PASSWORD)
    # Check mode never forces (ending a session is a change).
    proc, (result,) = run_playbook(run_ansible, tmp_path / "c", [enable_task(force_login=True)], variables(pec), check=True)
    assert result["municipios"][0]["error_code"] == "already_logged_in", proc.stdout
    assert stats(pec)["sessions_ended_by_force"] == 0
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task(force_login=True)], variables(pec))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["municipios"][0]["status"] == "changed"
    assert any("force_login" in w and "encerrou" in w for w in result.get("warnings", [])), result
    assert stats(pec)["sessions_ended_by_force"] == 1


def test_wrong_admin_password_is_tried_once(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task()],
                                   variables(pec, admin_password=WRONG_PASSWORD))
    assert result["failed"] is True and result["error_code"] == "login_refused"
    assert "não será repetido" in result["msg"]
    assert operations(pec).count("Login") == 1
    assert stats(pec)["failed_logins"].get(ADMIN) == 1
    assert_no_secret(proc)


def test_username_that_is_not_a_cpf_sends_nothing(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task(username="admin.saopaulo")], variables(pec))
    assert result["failed"] is True and result["error_code"] == "invalid_input"
    assert "e 'admin.saopaulo' não é um CPF válido; nenhum login foi tentado" in result["msg"], result["msg"]
    assert operations(pec) == []


def test_two_certificates_for_one_municipality_is_refused_before_any_request(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    task = enable_task(municipios=[{"ibge": SP, "services": ["rnds"], "certificate": "fms.pfx"},
                                   {"ibge": SP, "services": ["cadsus"], "certificate": "outro.pfx"}])
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [task], variables(multi))
    assert result["failed"] is True and "um só certificado" in result["msg"], proc.stdout
    assert operations(multi) == []


def test_cadsus_later_keeps_the_same_certificate(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    run_playbook(run_ansible, tmp_path / "r1", [enable_task()], variables(pec))
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r2", [enable_task(services=["cadsus"])], variables(pec))
    assert proc.returncode == 0, proc.stdout
    state = result["municipios"][0]["state"]
    assert state["certificate"] == "fms.pfx" and state["services"] == ["cadsus", "rnds"]
    # Disable the CADSUS only: the RNDS keeps the certificate.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r3", [enable_task(state="disabled", services=["cadsus"])],
                                   variables(pec))
    assert result["municipios"][0]["state"]["services"] == ["rnds"], proc.stdout
    actions = [a["action"] for a in pec.audit_lines() if a["result"] == "sucesso"]
    assert "Desabilitar PEC a acessar CADSUS" in actions


def test_certificate_refused_by_the_pec(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task()],
                                   variables(pec, cert_password=WRONG_PASSWORD))
    assert result["failed"] is True
    assert result["municipios"][0]["error_code"] == "wrong_password"
    assert "confira a senha do certificado" in result["msg"]
    assert operations(pec).count("Logout") == 1  # logged out on failure too
    assert_no_secret(proc)


def test_manual_pending_when_the_pec_lacks_the_contract(sim_factory, leaf, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    sim = _pec(sim_factory, leaf, ["%s:%s:%s" % (ADMIN, ADMIN_PASSWORD, SP)], [SP],
               extra_args=["--no-certificate-api"])
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task()], variables(sim))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (municipio,) = result["municipios"]
    assert municipio["status"] == "manual_pending" and municipio["error_code"] == "contract_mismatch"
    steps = " ".join(municipio["manual_steps"])
    assert "Gestão municipal > aba Certificados" in steps and "fms.pfx" in steps and "4507" in steps
    assert "modelo" in municipio["error"]  # names the contract to adjust
    assert any("habilitação manual pendente" in w for w in result["warnings"])
    assert operations(sim).count("Logout") == 1
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r2", [enable_task(manual_fallback=False)], variables(sim))
    assert result["failed"] is True and result["error_code"] == "contract_mismatch"


def test_contract_from_a_file_and_a_broken_one(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    import yaml

    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "..", "..", "pec_contracts", "modelo.yml"), encoding="utf-8") as handle:
        contract = yaml.safe_load(handle)
    contract["name"] = "da-equipe"
    good = tmp_path / "da-equipe.yml"
    good.write_text(json.dumps(contract), encoding="utf-8")
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task(api_contract=str(good))], variables(pec))
    assert proc.returncode == 0 and result["contract"] == "da-equipe", proc.stdout + proc.stderr
    contract["operations"]["enable"]["variables"]["input"]["senha"] = "$senha"
    bad = tmp_path / "quebrado.yml"
    bad.write_text(json.dumps(contract), encoding="utf-8")
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r2", [enable_task(api_contract=str(bad))], variables(pec))
    assert result["failed"] is True and "$senha" in result["msg"] and "$password" in result["msg"]
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r3", [enable_task(api_contract="nao-existe")], variables(pec))
    assert result["failed"] is True and "modelo" in result["msg"]
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r4", [enable_task(api_contract=[1])], variables(pec))
    assert result["failed"] is True and result["msg"].startswith("api_contract deve ser o nome"), proc.stdout
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r5", [enable_task(api_contract=[1], option_labels=ROLE_LABELS)],
                                   variables(pec))
    assert result["failed"] is True and result["msg"].startswith("rnds_pec_api_contract deve ser o nome"), proc.stdout
    assert operations(pec).count("Login") == 1  # only the good contract's run reached the PEC


def test_missing_input_names_the_option_or_the_role_variable(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    labelled_task = dict(enable_task(requester_id=None, option_labels=ROLE_LABELS), register="labelled")
    tasks = [enable_task(requester_id=None), labelled_task]
    proc, (plain, labelled) = run_playbook(run_ansible, tmp_path / "r", tasks, variables(pec))
    assert plain["failed"] is True and plain["error_code"] == "invalid_input", proc.stdout
    assert "informe requester_id (identificador do solicitante" in plain["msg"]
    assert "informe rnds_requester_id (identificador do solicitante" in labelled["msg"]
    assert operations(pec) == []


def test_session_expired_relogs_in_once(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    pec.control({"expire_sessions": "1@HabilitarCertificado"})
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task()], variables(pec))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ops = operations(pec)
    assert ops.count("Login") == 2 and ops.count("Logout") == 1


def test_fingerprint_mismatch_is_caught(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task(certificate_fingerprint="ab" * 32)],
                                   variables(pec))
    assert result["failed"] is True and result["municipios"][0]["error_code"] == "fingerprint_mismatch", proc.stdout


def test_secrets_never_printed_at_vvvv(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    task = enable_task(municipios=three())
    proc, _results = run_playbook(run_ansible, tmp_path / "r", [task], variables(multi, cert_password=WRONG_PASSWORD),
                                  verbosity=4, diff=True, json_output=False)
    assert "recusou o certificado" in proc.stdout
    assert_no_secret(proc)


def test_enable_answered_500_is_read_back_before_it_is_sent_again(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    """The simulator applies nothing on a 500: the read-back proves it, so the enable is sent once
    more (never blindly); had the PEC applied it, the read-back would have been the answer."""
    pec.control({"http500": "1@HabilitarCertificado"})
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r", [enable_task()], variables(pec))
    assert proc.returncode == 0 and result["municipios"][0]["status"] == "changed", proc.stdout
    assert any("não foi aplicado" in w for w in result["warnings"]), result["warnings"]
    ops = operations(pec)
    assert ops.count("HabilitarCertificado") == 2
    first = ops.index("HabilitarCertificado")
    assert ops[first + 1] == "CertificadoMunicipio"  # read back before sending again
    pec.control({"http500": "always@HabilitarCertificado"})
    run_playbook(run_ansible, tmp_path / "r2", [enable_task(requester_id="4508")], variables(pec))
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r3", [enable_task(requester_id="4509")], variables(pec))
    assert result["failed"] is True and result["municipios"][0]["error_code"] == "server_error", proc.stdout
    assert "aceitou o pedido" not in result["msg"] and "enviado duas vezes" in result["msg"]


def test_a_refused_password_is_not_tried_again_by_later_runs(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    """Three runs with a wrong password (site, site, audit) would lock the account: the controller
    remembers the refusal (an HMAC, never the password) and later runs do not log in with it."""
    memo = tmp_path / "esus-rnds-state"  # ESUS_RNDS_STATE_DIR of the ansible_env fixture
    wrong = variables(pec, admin_password=WRONG_PASSWORD)
    results = []
    for number in range(3):
        labels = ROLE_LABELS if number == 2 else None  # the third run comes through a role
        proc, (result,) = run_playbook(run_ansible, tmp_path / ("r%d" % number),
                                       [enable_task(option_labels=labels)], wrong)
        assert result["failed"] is True and result["municipios"][0]["error_code"] == "login_refused", proc.stdout
        assert_no_secret(proc)
        results.append(result)
    assert "já foi recusada" in results[1]["msg"] and "use retry_refused_login: true" in results[1]["msg"]
    assert "já foi recusada" in results[2]["msg"] and "use rnds_pec_retry_refused_login: true" in results[2]["msg"]
    assert operations(pec).count("Login") == 1
    assert stats(pec)["failed_logins"].get(ADMIN) == 1 and ADMIN not in stats(pec)["locked"]
    text = (memo / "refused-logins.json").read_text(encoding="utf-8")
    assert WRONG_PASSWORD not in text and ADMIN not in text
    assert oct((memo / "refused-logins.json").stat().st_mode & 0o777) == "0o600"
    # The right password is tried at once; retry_refused_login tries a refused one once more.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "ok", [enable_task()], variables(pec))
    assert result["municipios"][0]["status"] == "changed", proc.stdout
    proc, (result,) = run_playbook(run_ansible, tmp_path / "again", [enable_task(retry_refused_login=True)], wrong)
    assert result["municipios"][0]["error_code"] == "login_refused"
    assert operations(pec).count("Login") == 3
