# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.pec_rnds_info run for real (ansible-playbook, connection local) against the simulator."""

from __future__ import annotations

import os
import sys

import pytest
from cryptography.hazmat.primitives import hashes

import testca

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "pec_simulator"))

from harness import RawSession, closed_port, run_playbook, sim_factory  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

SP_PASSWORD = "sp " + testca.HARD_PASSWORD
RJ_PASSWORD = "rj-Sênha!"
SP = "3550308"
RJ = "3304557"
STATE_KEYS = {"enabled", "enabled_at", "certificate", "fingerprint_sha256", "not_after", "requester_id", "file_sha256"}


def info_task(**args):
    base = {"url": "{{ pec_url }}"}
    base.update(args)
    return {"name": "pec_rnds_info", "esus.rnds.pec_rnds_info": base, "register": "out"}


@pytest.fixture
def leaf(test_ca):
    return test_ca.issue_ecnpj()


@pytest.fixture
def multi(sim_factory, leaf):  # pylint: disable=redefined-outer-name
    """Two municipalities, one admin each, RNDS enabled for SP only."""
    sim = sim_factory(admins=["sp:%s:%s" % (SP_PASSWORD, SP), "rj:%s:%s" % (RJ_PASSWORD, RJ)],
                      municipios=[SP, RJ], start=False)
    os.makedirs(sim.chaves)
    testca.write_pkcs12(os.path.join(sim.chaves, "sp.pfx"), leaf, "senha-sp")
    testca.write_pkcs12(os.path.join(sim.chaves, "rj.p12"), leaf, "senha-rj")
    sim.start()
    session = RawSession(sim.url)
    session.login("sp", SP_PASSWORD)
    status, document, _unused = session.post("HabilitarCertificado", {"input": {
        "municipio": SP, "servico": "RNDS", "certificado": "sp.pfx", "senha": "senha-sp",
        "identificadorSolicitante": "ID-SP"}})
    assert status == 200 and document["data"]["habilitarCertificado"]["habilitado"], document
    return sim


def secrets_vars(sim):
    return {"pec_url": sim.url, "sp_password": SP_PASSWORD, "rj_password": RJ_PASSWORD}


def admins(rj_password="{{ rj_password }}"):
    return [
        {"ibge": SP, "username": "sp", "password": "{{ sp_password }}"},
        {"ibge": RJ, "username": "rj", "password": rj_password},
    ]


def test_multimunicipal_state(multi, leaf, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(run_ansible, tmp_path, [info_task(municipios=admins())], secrets_vars(multi))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is False
    assert result["reachable"] is True and result["error"] is None
    assert result["pec_version"] == "5.3.28"
    assert result["url"] == multi.url
    assert result["certificates_available"] == ["rj.p12", "sp.pfx"]
    by_ibge = dict((m["ibge"], m) for m in result["municipios"])
    assert set(by_ibge) == {SP, RJ}
    sp = by_ibge[SP]
    assert sp["nome"] == "São Paulo" and sp["error"] is None
    assert set(sp["rnds"]) == STATE_KEYS
    assert sp["rnds"]["enabled"] is True
    assert sp["rnds"]["certificate"] == "sp.pfx"
    assert sp["rnds"]["fingerprint_sha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert sp["rnds"]["requester_id"] == "ID-SP"
    assert sp["cadsus"]["enabled"] is False
    assert by_ibge[RJ]["rnds"]["enabled"] is False
    assert "contra_chave" not in sp
    for text in (proc.stdout, proc.stderr):
        assert SP_PASSWORD not in text and RJ_PASSWORD not in text
        for entry in multi.state()["municipios"].values():
            assert entry["contra_chave"] not in text


def test_contra_chave_only_when_asked(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(
        run_ansible, tmp_path, [info_task(municipios=admins(), return_contra_chave=True)], secrets_vars(multi))
    assert proc.returncode == 0, proc.stdout
    stored = multi.state()["municipios"]
    for entry in result["municipios"]:
        assert entry["contra_chave"] == stored[entry["ibge"]]["contra_chave"]


def test_one_wrong_admin_does_not_hide_the_others(multi, run_ansible, tmp_path):  # pylint: disable=redefined-outer-name
    proc, (result,) = run_playbook(
        run_ansible, tmp_path, [info_task(municipios=admins(rj_password="{{ wrong }}"))],
        dict(secrets_vars(multi), wrong="errada-" + RJ_PASSWORD))
    assert proc.returncode == 0, proc.stdout
    by_ibge = dict((m["ibge"], m) for m in result["municipios"])
    assert by_ibge[SP]["error"] is None and by_ibge[SP]["rnds"]["enabled"] is True
    assert by_ibge[RJ]["error"].startswith("login recusado para o usuário rj")
    assert by_ibge[RJ]["rnds"] == dict.fromkeys(STATE_KEYS)
    assert by_ibge[RJ]["nome"] == "Rio de Janeiro"
    assert "errada-" not in proc.stdout


def test_single_admin_sees_all_its_municipalities(sim_factory, run_ansible, tmp_path):
    sim = sim_factory(admins=["geral:" + SP_PASSWORD], municipios=[SP, RJ])
    tasks = [info_task(username="geral", password="{{ sp_password }}"), dict(info_task(), register="anon")]
    proc, (result, anonymous) = run_playbook(run_ansible, tmp_path, tasks, secrets_vars(sim))
    assert proc.returncode == 0, proc.stdout
    assert [m["ibge"] for m in result["municipios"]] == [SP, RJ]
    assert all(m["error"] is None and m["rnds"]["enabled"] is False for m in result["municipios"])
    assert result["certificates_available"] == []
    # Without credentials: version and municipality names only.
    assert anonymous["reachable"] is True and anonymous["pec_version"] == "5.3.28"
    assert [m["nome"] for m in anonymous["municipios"]] == ["São Paulo", "Rio de Janeiro"]
    assert anonymous["municipios"][0]["rnds"]["enabled"] is None


def test_unreachable_is_reported_not_failed(run_ansible, tmp_path):
    url = "http://127.0.0.1:%d" % closed_port()
    tasks = [
        info_task(username="x", password="{{ sp_password }}", retries=0),
        dict(info_task(username="x", password="{{ sp_password }}", retries=0, fail_on_unreachable=True),
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
    sim = sim_factory(admins=["geral:" + SP_PASSWORD], faults=["garbage=always"])
    proc, (result,) = run_playbook(run_ansible, tmp_path, [info_task()], secrets_vars(sim))
    assert proc.returncode == 0
    assert result["reachable"] is False and result["error_code"] == "bad_response"
    assert "não é JSON" in result["error"]


def test_https_with_ca_path_and_without_validation(sim_factory, test_ca, run_ansible, tmp_path):
    cert, key = testca.write_pem_files(str(tmp_path), test_ca.issue_server("127.0.0.1"), "server")
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(test_ca.ca_bundle_pem())
    sim = sim_factory(admins=["geral:" + SP_PASSWORD], https_cert=cert, https_key=key)
    tasks = [
        info_task(username="geral", password="{{ sp_password }}", retries=0),
        dict(info_task(username="geral", password="{{ sp_password }}", ca_path=str(bundle)), register="ca"),
        dict(info_task(username="geral", password="{{ sp_password }}", validate_certs=False), register="novalidate"),
    ]
    proc, (default, with_ca, no_validation) = run_playbook(run_ansible, tmp_path / "run", tasks, secrets_vars(sim))
    assert proc.returncode == 0, proc.stdout
    assert default["reachable"] is False and default["error_code"] == "tls_verify"
    assert with_ca["reachable"] is True and with_ca["municipios"][0]["error"] is None
    assert no_validation["reachable"] is True
