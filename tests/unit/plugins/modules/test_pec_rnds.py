# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.pec_rnds run for real (ansible-playbook, connection local) against the simulator."""

from __future__ import annotations

import os
import sys

import pytest
from cryptography.hazmat.primitives import hashes

import testca

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "pec_simulator"))

from harness import closed_port, run_playbook, sim_factory  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

ADMIN_PASSWORD = "Adm!n " + testca.HARD_PASSWORD
CERT_PASSWORD = testca.HARD_PASSWORD
WRONG_PASSWORD = "Errada ção `uname` $PATH 'x'"
SP = "3550308"
RJ = "3304557"


def fingerprint(leaf):
    return leaf.cert.fingerprint(hashes.SHA256()).hex()


def enable_task(**overrides):
    args = {
        "url": "{{ pec_url }}",
        "username": "admin",
        "password": "{{ admin_password }}",
        "certificate": "fms.pfx",
        "certificate_password": "{{ cert_password }}",
        "requester_id": "ID-3550308",
    }
    args.update(overrides)
    args = dict((key, value) for key, value in args.items() if value is not None)
    return {"name": "pec_rnds", "esus.rnds.pec_rnds": args, "register": "out"}


@pytest.fixture
def leaf(test_ca):
    return test_ca.issue_ecnpj()


@pytest.fixture
def pec(sim_factory, leaf):  # pylint: disable=redefined-outer-name
    sim = sim_factory(admins=["admin:" + ADMIN_PASSWORD], municipios=[SP], start=False)
    os.makedirs(sim.chaves)
    testca.write_pkcs12(os.path.join(sim.chaves, "fms.pfx"), leaf, CERT_PASSWORD, flavour="legacy-rc2")
    return sim.start()


def variables(sim, **extra):
    data = {"pec_url": sim.url, "admin_password": ADMIN_PASSWORD, "cert_password": CERT_PASSWORD}
    data.update(extra)
    return data


def assert_no_secret(proc):
    for text in (proc.stdout, proc.stderr):
        assert ADMIN_PASSWORD not in text
        assert CERT_PASSWORD not in text
        assert WRONG_PASSWORD not in text


def test_check_mode_then_enable_then_idempotent(pec, leaf, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    # 1. Check mode: predicts the change, calls no mutation (audit log untouched).
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r1", [enable_task()], variables(pec), check=True, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    assert result["acted"] == ["rnds"]
    assert result["services"]["rnds"]["enabled"] is False  # nothing changed
    assert result["diff"]["before"]["rnds"]["enabled"] is False
    assert result["diff"]["after"]["rnds"]["enabled"] is True
    assert result["diff"]["after"]["rnds"]["certificate"] == "fms.pfx"
    assert pec.audit_lines() == []
    assert pec.state()["municipios"][SP]["servicos"]["RNDS"]["habilitado"] is False
    assert_no_secret(proc)

    # 2. Real run: enables and returns the state read back.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r2", [enable_task()], variables(pec), diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    rnds = result["services"]["rnds"]
    assert rnds["enabled"] is True
    assert rnds["certificate"] == "fms.pfx"
    assert rnds["fingerprint_sha256"] == fingerprint(leaf)
    assert rnds["not_after"] == leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rnds["requester_id"] == "ID-3550308"
    assert rnds["enabled_at"]
    assert result["previous"]["rnds"]["enabled"] is False
    assert result["services"]["cadsus"]["enabled"] is False
    assert result["municipio"] == SP and result["nome"] == "São Paulo"
    assert result["pec_version"] == "5.3.28"
    assert result["diff"]["after"]["rnds"]["fingerprint_sha256"] == fingerprint(leaf)
    lines = pec.audit_lines()
    assert [(line["action"], line["result"]) for line in lines] == [("Habilitar o PEC a acessar RNDS", "sucesso")]
    assert_no_secret(proc)

    # 3. Same input again: nothing to do, no mutation.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r3", [enable_task()], variables(pec))
    assert proc.returncode == 0
    assert result["changed"] is False
    assert result["acted"] == []
    assert result["services"]["rnds"] == rnds
    assert "já habilitado" in result["message"]
    assert len(pec.audit_lines()) == 1

    # 4. Check mode on an enabled PEC predicts no change either.
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r4", [enable_task()], variables(pec), check=True)
    assert result["changed"] is False
    assert len(pec.audit_lines()) == 1


def test_new_file_content_or_requester_means_change(pec, test_ca, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (first,) = run_playbook(run_ansible, tmp_path / "a", [enable_task()], variables(pec))
    assert first["changed"] is True, proc.stdout
    # Same file name, new certificate inside (rotation by overwrite).
    newer = test_ca.issue_ecnpj(days=700)
    testca.write_pkcs12(os.path.join(pec.chaves, "fms.pfx"), newer, CERT_PASSWORD)
    tasks = [enable_task(), dict(enable_task(requester_id="ID-NOVO"), register="out2")]
    proc, (rotated, requester) = run_playbook(run_ansible, tmp_path / "b", tasks, variables(pec))
    assert proc.returncode == 0, proc.stdout
    assert rotated["changed"] is True
    assert rotated["services"]["rnds"]["fingerprint_sha256"] == fingerprint(newer)
    assert rotated["previous"]["rnds"]["fingerprint_sha256"] == first["services"]["rnds"]["fingerprint_sha256"]
    assert requester["changed"] is True
    assert requester["services"]["rnds"]["requester_id"] == "ID-NOVO"
    assert len(pec.audit_lines()) == 3


def test_expected_fingerprint(pec, leaf, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    tasks = [
        enable_task(certificate_fingerprint=":".join(fingerprint(leaf)[i:i + 2] for i in range(0, 64, 2)).upper()),
        dict(enable_task(certificate_fingerprint=fingerprint(leaf)), register="out2"),
        dict(enable_task(certificate_fingerprint="00" * 32), register="out3", ignore_errors=True),
    ]
    proc, (first, second, wrong) = run_playbook(run_ansible, tmp_path, tasks, variables(pec))
    assert first["changed"] is True and second["changed"] is False
    assert wrong["failed"] is True
    assert wrong["error_code"] == "fingerprint_mismatch"
    assert "não é o certificado esperado" in wrong["msg"]
    assert_no_secret(proc)


def test_services_and_disable(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    both = ["rnds", "cadsus"]
    tasks = [
        enable_task(services=both),
        dict(enable_task(services=both), register="again"),
        dict(enable_task(state="disabled", certificate=None, certificate_password=None, requester_id=None,
                         services=["cadsus"]), register="off"),
        dict(enable_task(state="disabled", certificate=None, certificate_password=None, requester_id=None,
                         services=["cadsus"]), register="off_again"),
    ]
    proc, (enabled, again, off, off_again) = run_playbook(run_ansible, tmp_path, tasks, variables(pec))
    assert proc.returncode == 0, proc.stdout
    assert enabled["changed"] is True and enabled["acted"] == both
    assert enabled["services"]["rnds"]["enabled"] and enabled["services"]["cadsus"]["enabled"]
    assert enabled["services"]["cadsus"]["requester_id"] == "ID-3550308"
    assert again["changed"] is False
    assert off["changed"] is True
    assert off["services"]["cadsus"]["enabled"] is False
    assert off["services"]["rnds"]["enabled"] is True
    assert off_again["changed"] is False
    actions = [line["action"] for line in pec.audit_lines()]
    assert actions == ["Habilitar o PEC a acessar RNDS", "Habilitar o PEC a acessar CADSUS",
                       "Desabilitar o PEC a acessar CADSUS"]


def test_failures_are_actionable_and_secret_free(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    tasks = [
        dict(enable_task(certificate_password="{{ wrong_password }}"), ignore_errors=True),
        dict(enable_task(password="{{ wrong_password }}"), register="out2", ignore_errors=True),
        dict(enable_task(certificate="falta.pfx"), register="out3", ignore_errors=True),
        dict(enable_task(requester_id=None), register="out4", ignore_errors=True),
        dict(enable_task(url="http://127.0.0.1:%d" % closed_port(), retries=0), register="out5", ignore_errors=True),
    ]
    proc, results = run_playbook(run_ansible, tmp_path, tasks, variables(pec, wrong_password=WRONG_PASSWORD))
    wrong_cert, wrong_admin, missing, no_requester, down = results
    assert wrong_cert["failed"] and wrong_cert["error_code"] == "wrong_password"
    assert "confira rnds_certificate_password" in wrong_cert["msg"]
    assert wrong_admin["failed"] and wrong_admin["error_code"] == "login_refused"
    assert wrong_admin["msg"].startswith("login recusado para o usuário admin no PEC em %s" % pec.url)
    assert missing["failed"] and missing["error_code"] == "certificate_missing"
    assert no_requester["failed"] and "requester_id" in no_requester["msg"]
    assert down["failed"] and down["error_code"] == "unreachable"
    assert "systemctl status e-SUS-PEC" in down["msg"]
    assert_no_secret(proc)
    assert [line["result"].split(":")[0] for line in pec.audit_lines()] == ["falha", "falha"]


def test_verbose_output_never_shows_passwords(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    tasks = [
        enable_task(),
        dict(enable_task(certificate_password="{{ wrong_password }}", requester_id="OUTRO"), ignore_errors=True),
    ]
    proc, _unused = run_playbook(run_ansible, tmp_path, tasks, variables(pec, wrong_password=WRONG_PASSWORD),
                                 diff=True, verbosity=4, json_output=False)
    assert "esus.rnds.pec_rnds" in proc.stdout or "pec_rnds" in proc.stdout
    assert "Senha do certificado incorreta" in proc.stdout  # the failure is shown...
    assert_no_secret(proc)  # ...the passwords are not


def test_check_mode_with_file_not_yet_deployed(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path, [enable_task(certificate="novo.pfx")], variables(pec), check=True)
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is True
    assert "ainda não está na pasta chaves" in result["message"]
    assert pec.audit_lines() == []


def test_multimunicipal_admins(sim_factory, leaf, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    sim = sim_factory(admins=["geral:" + ADMIN_PASSWORD, "rj:" + ADMIN_PASSWORD + ":" + RJ],
                      municipios=[SP, RJ], start=False)
    os.makedirs(sim.chaves)
    testca.write_pkcs12(os.path.join(sim.chaves, "fms.pfx"), leaf, CERT_PASSWORD)
    sim.start()
    tasks = [
        dict(enable_task(username="geral"), ignore_errors=True),
        dict(enable_task(username="geral", municipio=RJ), register="out2"),
        dict(enable_task(username="rj"), register="out3"),
        dict(enable_task(username="rj", municipio=SP), register="out4", ignore_errors=True),
    ]
    proc, (ambiguous, geral_rj, rj_alone, rj_sp) = run_playbook(run_ansible, tmp_path, tasks, variables(sim))
    assert ambiguous["failed"] and ambiguous["error_code"] == "municipio_required"
    assert "3550308, 3304557" in ambiguous["msg"]
    assert geral_rj["changed"] is True and geral_rj["municipio"] == RJ
    assert rj_alone["changed"] is False and rj_alone["municipio"] == RJ  # single municipality: implicit
    assert rj_sp["failed"] and rj_sp["error_code"] == "forbidden"
    assert sim.state()["municipios"][SP]["servicos"]["RNDS"]["habilitado"] is False
    assert_no_secret(proc)


def test_retries_through_http500(pec, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    pec.set_fault(http500="1@HabilitarCertificado")
    proc, (result,) = run_playbook(run_ansible, tmp_path, [enable_task()], variables(pec))
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is True and result["services"]["rnds"]["enabled"] is True
