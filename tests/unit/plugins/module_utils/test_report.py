# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_report.py: every problem rule and the three renderings."""

from __future__ import annotations

import csv
import datetime
import importlib.util
import io
import json
import os
import re

import pytest

from ansible_collections.esus.rnds.plugins.plugin_utils import _report_html, _report_render

_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "report", "sample_fleet.py")
_spec = importlib.util.spec_from_file_location("esus_rnds_sample_fleet", _SAMPLE)
sf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sf)
R = sf.load_report_module()
NOW = sf.NOW


def evaluate(pec_info="default", rnds_info="default", auth=None, expected=None, host="pec-teste", now=NOW):
    if pec_info == "default":
        pec_info = sf.pec_info()
    if rnds_info == "default":
        rnds_info = sf.rnds_info()
    return R.evaluate_host(host, pec_info, rnds_info, auth, expected if expected is not None else sf.expected(), now=now)


def codes(entry):
    return [(p["code"], p["severity"]) for p in entry["problem_details"]]


def only(entry, code, severity=None):
    """The one problem ``code`` of ``entry`` (of ``severity``, when given)."""
    found = [p for p in entry["problem_details"] if p["code"] == code]
    assert len(found) == 1, codes(entry)
    assert severity is None or found[0]["severity"] == severity, found[0]
    return found[0]


# --------------------------------------------------------------------------- healthy host


def test_healthy_host_is_ok():
    entry = evaluate(auth=sf.auth())
    assert entry["status"] == "ok"
    assert entry["problems"] == []
    assert entry["rnds_enabled"] is True
    assert entry["certificate"] == "fms.pfx"
    assert entry["days_remaining"] == 200
    assert entry["not_after"] == sf.iso(200)
    assert entry["reachable"] is True
    assert entry["pec_version"] == "5.3.19"
    assert entry["auth"]["authenticated"] is True
    [municipio] = entry["municipios"]
    assert municipio["ibge"] == "3550308"
    assert municipio["nome"] == "São Paulo"
    assert municipio["status"] == "ok"
    assert municipio["rnds_enabled"] is True
    assert municipio["cadsus_enabled"] is False
    assert municipio["requester_id"] == "REQ-1"
    assert municipio["expected_certificate"] == "fms.pfx"
    assert municipio["rnds_status"] == "enabled" and entry["rnds_status"] == "enabled"
    assert "contra_chave" not in municipio


def test_required_host_fields_present():
    entry = evaluate()
    for key in ("host", "status", "rnds_enabled", "certificate", "days_remaining", "not_after", "problems",
                "municipios", "pec_version", "reachable", "auth"):
        assert key in entry
    assert entry["rnds_status"] in R.RNDS_STATUS_PT
    for key in ("ibge", "nome", "status", "rnds_status", "rnds_enabled", "cadsus_enabled", "certificate",
                "days_remaining", "not_after", "requester_id", "problems"):
        assert key in entry["municipios"][0]


# --------------------------------------------------------------------------- host-level rules


def test_no_data_at_all_is_error():
    entry = R.evaluate_host("pec-x", None, None, None, sf.expected(), now=NOW)
    assert entry["status"] == "error"
    assert codes(entry) == [("no_data", "error")]
    assert "ansible.builtin.ping pec-x" in entry["problems"][0]
    assert entry["reachable"] is False and entry["rnds_enabled"] is False


def test_skipped_probes_count_as_no_data():
    skipped = {"skipped": True, "changed": False, "false_condition": "x"}
    entry = R.evaluate_host("pec-x", skipped, skipped, skipped, None, now=NOW)
    assert codes(entry) == [("no_data", "error")]


def test_pec_unreachable_is_error_and_mentions_service_state():
    entry = evaluate(pec_info=sf.pec_info(service_state="stopped"),
                     rnds_info=sf.rnds_info(reachable=False, error="conexão recusada"),
                     expected=sf.expected(municipios=[{"ibge": "3550308", "nome": "São Paulo"}]))
    problem = only(entry, "pec_unreachable", "error")
    assert "http://127.0.0.1:8080" in problem["message"]
    assert "conexão recusada" in problem["message"]
    assert "systemctl start e-SUS-PEC" in problem["message"]
    assert entry["status"] == "error" and entry["reachable"] is False
    # The expected municipality is still listed, not verified, and inherits the host error.
    [municipio] = entry["municipios"]
    assert municipio["status"] == "error" and municipio["rnds_enabled"] is None and municipio["problems"] == []
    assert municipio["rnds_status"] == "unverified"


def test_pec_not_installed():
    entry = evaluate(pec_info=sf.pec_info(exists=False, install_dir="/srv/pec"), rnds_info=None)
    problem = only(entry, "pec_not_installed", "error")
    assert "/srv/pec" in problem["message"]
    assert "rnds_info_missing" not in [code for code, dummy in codes(entry)]


def test_rnds_info_missing_when_pec_installed():
    entry = evaluate(rnds_info=None)
    only(entry, "rnds_info_missing", "error")


def test_chaves_missing_is_error():
    entry = evaluate(pec_info=sf.pec_info(chaves_exists=False))
    problem = only(entry, "chaves_missing", "error")
    assert "/opt/e-SUS/webserver/chaves" in problem["message"] and "esus.rnds.certificate" in problem["message"]
    assert entry["status"] == "error"


def test_chaves_not_a_directory():
    info = sf.pec_info()
    info["chaves"]["is_dir"] = False
    assert only(evaluate(pec_info=info), "chaves_not_dir")["severity"] == "error"


def test_chaves_world_accessible_is_error():
    entry = evaluate(pec_info=sf.pec_info(world_accessible=True, mode="0777"))
    problem = only(entry, "chaves_world_accessible", "error")
    assert "0777" in problem["message"] and "chmod 0750" in problem["message"]


def test_file_world_readable_is_error():
    info = sf.pec_info()
    info["chaves"]["files"][0].update(world_readable=True, mode="0644")
    problem = only(evaluate(pec_info=info), "file_world_readable")
    assert problem["severity"] == "error"
    assert "fms.pfx" in problem["message"] and "chmod 0640" in problem["message"]


def test_world_readable_cer_or_folder_is_not_a_key_leak():
    info = sf.pec_info(files=("fms.pfx", "fms.cer"))
    info["chaves"]["files"][1].update(world_readable=True, mode="0644")
    info["chaves"]["files"].append({"name": "backup", "kind": "other", "is_dir": True, "world_readable": True,
                                    "mode": "0755"})
    entry = evaluate(pec_info=info)
    assert "file_world_readable" not in [code for code, dummy in codes(entry)]


def test_chaves_without_any_pkcs12_and_no_expected_name():
    entry = evaluate(pec_info=sf.pec_info(files=("leia-me.txt",)), expected=sf.expected(certificate_name=""))
    problem = only(entry, "no_certificate_file", "error")
    assert ".pfx/.p12" in problem["message"]


def test_chaves_symlink_is_error():
    problem = only(evaluate(pec_info=sf.pec_info(is_symlink=True)), "chaves_symlink")
    assert problem["severity"] == "error" and "link simbólico" in problem["message"]


def test_chaves_case_variant_is_warning():
    entry = evaluate(pec_info=sf.pec_info(variants=("Chaves",)))
    problem = only(entry, "chaves_case_variant", "warning")
    assert "Chaves" in problem["message"]
    assert entry["status"] == "warning"


def test_cer_file_is_warning():
    entry = evaluate(pec_info=sf.pec_info(files=("fms.pfx", "fms.cer")))
    problem = only(entry, "cer_file", "warning")
    assert "fms.cer" in problem["message"] and ".pfx/.p12" in problem["message"]
    assert entry["status"] == "warning"


def test_stray_pkcs12_is_warning_but_not_the_one_in_use():
    entry = evaluate(
        pec_info=sf.pec_info(files=("fms.pfx", "antigo.p12", "outro.pfx")),
        rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(certificate="outro.pfx"))]))
    strays = [p for p in entry["problem_details"] if p["code"] == "stray_certificate"]
    assert len(strays) == 1 and strays[0]["severity"] == "warning"
    assert "antigo.p12" in strays[0]["message"]
    # outro.pfx is in use: reported as a mismatch, not as a stray file.
    only(entry, "certificate_mismatch", "warning")


def test_expected_certificate_file_missing_is_error():
    entry = evaluate(pec_info=sf.pec_info(files=("outro.pfx",)),
                     rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(certificate="outro.pfx"))]))
    problem = only(entry, "certificate_file_missing", "error")
    assert "fms.pfx" in problem["message"]


def test_expected_file_missing_uses_pec_listing_when_pec_info_absent():
    entry = evaluate(pec_info=None, rnds_info=sf.rnds_info(available=("outro.pfx",)))
    only(entry, "certificate_file_missing", "error")


def test_probe_failures_are_errors_with_their_message():
    failed = {"failed": True, "msg": "Permissão negada ao ler /opt/e-SUS"}
    entry = evaluate(pec_info=failed)
    problem = only(entry, "probe_failed", "error")
    assert "Permissão negada ao ler /opt/e-SUS" in problem["message"]
    assert "pec_info" in problem["message"]

    entry = evaluate(rnds_info={"failed": True, "msg": "Usuário ou senha inválidos"})
    problem = only(entry, "probe_failed")
    assert "pec_rnds_info" in problem["message"] and "Usuário ou senha inválidos" in problem["message"]
    assert entry["status"] == "error"

    entry = evaluate(auth={"failed": True, "msg": "openssl não encontrado"})
    problem = only(entry, "probe_failed")
    assert "rnds_auth" in problem["message"] and "openssl não encontrado" in problem["message"]
    assert entry["auth"]["authenticated"] is False


def test_unreachable_ansible_result_is_error():
    skipped = {"skipped": True, "changed": False}
    entry = evaluate(pec_info={"unreachable": True, "msg": "ssh: connect to host timed out"}, rnds_info=skipped)
    assert codes(entry) == [("host_unreachable", "error")]
    assert "ssh: connect to host timed out" in entry["problems"][0]
    assert entry["reachable"] is False


# --------------------------------------------------------------------------- municipality rules


def test_rnds_not_enabled_is_error():
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(enabled=False))]))
    problem = only(entry, "rnds_not_enabled", "error")
    assert problem["scope"] == "3550308"
    assert "esus.rnds.enable" in problem["message"]
    assert entry["rnds_enabled"] is False
    assert entry["municipios"][0]["rnds_enabled"] is False
    assert entry["municipios"][0]["problems"] == [problem["message"]]
    assert entry["certificate"] is None and entry["days_remaining"] is None


def test_cadsus_not_enabled_when_expected_is_error():
    entry = evaluate(expected=sf.expected(services=["rnds", "cadsus"]))
    problem = only(entry, "cadsus_not_enabled", "error")
    # rnds_enabled is true only when every expected service is enabled.
    assert entry["municipios"][0]["rnds_enabled"] is False and entry["rnds_enabled"] is False


def test_cadsus_disabled_but_not_expected_is_fine():
    entry = evaluate(expected=sf.expected(services=["rnds"]))
    assert entry["status"] == "ok" and entry["municipios"][0]["cadsus_enabled"] is False


def test_both_services_enabled():
    rnds_info = sf.rnds_info([sf.municipio(cadsus=sf.service_state())])
    entry = evaluate(rnds_info=rnds_info, expected=sf.expected(services=["rnds", "cadsus"]))
    assert entry["status"] == "ok" and entry["rnds_enabled"] is True
    assert entry["municipios"][0]["cadsus_enabled"] is True


def test_other_service_not_enabled_is_error():
    """rnds_report called directly may ask for a service besides RNDS/CADSUS: the certificate must have it."""
    rnds_info = sf.rnds_info([dict(sf.municipio(), state=sf.state(services=["rnds"]))])
    entry = evaluate(rnds_info=rnds_info, expected=sf.expected(services=["rnds", "outro"]))
    problem = only(entry, "service_not_enabled", "error")
    assert "O serviço outro não está habilitado" in problem["message"]
    assert entry["municipios"][0]["rnds_status"] == "disabled"
    rnds_info = sf.rnds_info([dict(sf.municipio(), state=sf.state(services=["rnds", "outro"]))])
    entry = evaluate(rnds_info=rnds_info, expected=sf.expected(services=["rnds", "outro"]))
    assert entry["status"] == "ok" and entry["rnds_enabled"] is True


def test_how_the_pec_was_read_is_reported():
    info = sf.rnds_info()
    info.update(insecure_http=True, force_login_used=True, url="http://10.0.0.5:8080")
    entry = evaluate(rnds_info=info)
    insecure, forced = only(entry, "insecure_http"), only(entry, "force_login")
    assert insecure["severity"] == "warning" and "http://10.0.0.5:8080" in insecure["message"]
    assert "docs/https-pec.md" in insecure["message"]
    assert forced["severity"] == "warning" and "rnds_pec_force_login: true" in forced["message"]
    assert entry["status"] == "warning"


def test_certificate_in_use_differs_from_inventory_is_warning():
    entry = evaluate(pec_info=sf.pec_info(files=("fms.pfx", "novo.pfx")),
                     rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(certificate="novo.pfx"))]))
    problem = only(entry, "certificate_mismatch", "warning")
    assert "novo.pfx" in problem["message"] and "fms.pfx" in problem["message"]
    assert entry["certificate"] == "novo.pfx"


def test_requester_id_differs_is_warning():
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(requester_id="REQ-2"))]))
    problem = only(entry, "requester_mismatch", "warning")
    assert "REQ-2" in problem["message"] and "REQ-1" in problem["message"]


def test_days_remaining_below_minimum_is_warning():
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(days=29))]))
    problem = only(entry, "certificate_expiring", "warning")
    assert "29 dia(s)" in problem["message"]
    # dd/mm/aaaa in Brasília time: NOW is 10/03/2026 15:30 UTC, +29 days.
    assert "08/04/2026" in problem["message"]
    assert entry["days_remaining"] == 29 and entry["status"] == "warning"


def test_minimum_is_configurable_and_boundary_is_not_a_warning():
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(days=30))]))
    assert entry["status"] == "ok"
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(days=50))]),
                     expected=sf.expected(min_days_remaining="60"))
    assert "60" in only(entry, "certificate_expiring")["message"]


def test_expired_certificate_is_error():
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(days=-2))]))
    problem = only(entry, "certificate_expired", "error")
    assert "há 2 dia(s)" in problem["message"]
    assert "certificate_expiring" not in [code for code, dummy in codes(entry)]
    assert entry["days_remaining"] == -2 and entry["expired"] is True


def test_expired_minutes_ago():
    not_after = NOW - datetime.timedelta(minutes=5)
    state = sf.service_state()
    state["not_after"] = not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=state)]))
    assert "há menos de 1 dia" in only(entry, "certificate_expired")["message"]
    assert entry["days_remaining"] == -1


def test_cnpj_differs_is_error_when_known_from_pec():
    state = sf.service_state()
    state["cnpj"] = "11222333000181"
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=state)]),
                     expected=sf.expected(expected_cnpj="12.345.678/0001-95"))
    problem = only(entry, "cnpj_mismatch", "error")
    assert "11.222.333/0001-81" in problem["message"] and "12.345.678/0001-95" in problem["message"]


def test_cnpj_from_controller_certificate_info_and_equal_cnpj_is_fine():
    info = {"fms.pfx": {"cnpj": "11222333000181", "not_after": sf.iso(200)}}
    entry = evaluate(expected=sf.expected(expected_cnpj="11.222.333/0001-81", certificates=info))
    assert entry["status"] == "ok"
    entry = evaluate(expected=sf.expected(expected_cnpj="12345678000195", certificates=info))
    only(entry, "cnpj_mismatch", "error")


def test_cnpj_not_checked_without_information():
    entry = evaluate(expected=sf.expected(expected_cnpj="12345678000195"))
    assert entry["status"] == "ok"


def test_validity_of_expected_file_used_when_not_enabled():
    info = {"fms.pfx": {"cnpj": None, "not_after": sf.iso(10)}}
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(rnds=sf.service_state(enabled=False))]),
                     expected=sf.expected(certificates=info))
    assert entry["municipios"][0]["days_remaining"] == 10
    only(entry, "certificate_expiring", "warning")


def test_rnds_auth_failure_is_error_with_diagnosis():
    entry = evaluate(auth=sf.auth(ok=False))
    problem = only(entry, "rnds_auth_failed", "error")
    assert "não está credenciado no e-Gestor" in problem["message"] and "etapa http" in problem["message"]
    assert entry["auth"] == {"authenticated": False, "diagnosis": sf.auth(ok=False)["diagnosis"], "stage": "http",
                             "status_code": 401, "environment": "homologacao", "elapsed_ms": 80, "expires_in": None}


def test_auth_loop_per_municipality():
    rnds_info = sf.rnds_info([sf.municipio("1", "Um"), sf.municipio("2", "Dois")])
    ok = dict(sf.auth(), item={"ibge": "1"})
    bad = dict(sf.auth(ok=False), item={"ibge": "2"})
    entry = evaluate(rnds_info=rnds_info, auth={"results": [ok, bad], "changed": False})
    problem = only(entry, "rnds_auth_failed")
    assert problem["scope"] == "2"
    assert entry["auth"]["authenticated"] is False and len(entry["auth"]["results"]) == 2
    status = dict((m["ibge"], m["status"]) for m in entry["municipios"])
    assert status == {"1": "ok", "2": "error"}


def _per_municipality_auth(*outcomes):
    """rnds_auth results as a list, one per municipality, each with its ibge and certificate_name."""
    return [dict(sf.auth(ok=ok), ibge=ibge, certificate_name="%s.pfx" % ibge) for ibge, ok in outcomes]


def test_auth_list_per_municipality_reports_each_failure_on_its_municipality():
    rnds_info = sf.rnds_info([sf.municipio("1", "Um"), sf.municipio("2", "Dois"), sf.municipio("3", "Três")])
    auth = _per_municipality_auth(("1", True), ("2", False), ("3", False))
    entry = evaluate(rnds_info=rnds_info, auth=auth)
    failures = [p for p in entry["problem_details"] if p["code"] == "rnds_auth_failed"]
    assert [p["scope"] for p in failures] == ["2", "3"]
    assert "com o certificado 2.pfx falhou (etapa http) para o município 2:" in failures[0]["message"]
    assert dict((m["ibge"], m["status"]) for m in entry["municipios"]) == {"1": "ok", "2": "error", "3": "error"}
    assert entry["auth"]["authenticated"] is False
    assert [(r["ibge"], r["certificate_name"], r["authenticated"]) for r in entry["auth"]["results"]] == [
        ("1", "1.pfx", True), ("2", "2.pfx", False), ("3", "3.pfx", False)]
    # the CSV says, on each municipality's line, how its own certificate did
    rows = dict((r["IBGE"], r["autenticação RNDS"]) for r in _csv_rows(R.build_report([entry], now=NOW)))
    assert rows == {"1": "sim", "2": "não", "3": "não"}


def test_auth_list_all_ok_and_single_municipality():
    entry = evaluate(auth=_per_municipality_auth(("3550308", True)))
    assert entry["status"] == "ok" and entry["auth"]["authenticated"] is True
    assert entry["auth"]["certificate_name"] == "3550308.pfx" and "results" not in entry["auth"]


def test_auth_failure_counts_on_its_municipality_when_the_pec_did_not_answer():
    expected = sf.expected(municipios=[{"ibge": "1", "nome": "Um"}, {"ibge": "2", "nome": "Dois"}])
    auth = _per_municipality_auth(("1", True), ("2", False))
    entry = evaluate(rnds_info=sf.rnds_info(reachable=False, error="conexão recusada"), expected=expected, auth=auth)
    assert only(entry, "rnds_auth_failed")["scope"] == "2"
    assert [m["problems"] != [] for m in entry["municipios"]] == [False, True]


def test_auth_of_a_municipality_not_in_the_report_is_shown_on_the_host():
    auth = _per_municipality_auth(("3550308", True), ("9999999", False))
    entry = evaluate(auth=auth)
    problem = only(entry, "rnds_auth_failed")
    assert problem["scope"] == "host" and "para o município 9999999" in problem["message"]
    [row] = _csv_rows(R.build_report([entry], now=NOW))
    assert "para o município 9999999" in row["problemas"]


def test_auth_task_failed_for_one_municipality_is_a_probe_failure_there():
    rnds_info = sf.rnds_info([sf.municipio("1", "Um"), sf.municipio("2", "Dois")])
    auth = _per_municipality_auth(("1", True)) + [{"failed": True, "msg": "arquivo não encontrado", "ibge": "2",
                                                   "certificate_name": "2.pfx"}]
    entry = evaluate(rnds_info=rnds_info, auth=auth)
    problem = only(entry, "probe_failed")
    assert problem["scope"] == "2" and "rnds_auth" in problem["message"] and "arquivo não encontrado" in problem["message"]


def test_municipio_error_reported_by_pec():
    entry = evaluate(rnds_info=sf.rnds_info([sf.municipio(error="Acesso negado para este município")]))
    problem = only(entry, "municipio_error")
    assert "Acesso negado" in problem["message"] and problem["message"].startswith("Não verificado")


@pytest.mark.parametrize("legacy", [False, True], ids=["state", "por-servico"])
def test_municipio_error_does_not_claim_not_enabled(legacy):
    unknown = dict.fromkeys(("enabled", "enabled_at", "certificate", "fingerprint_sha256", "not_after", "requester_id"))
    municipio = sf.municipio(rnds=dict(unknown), cadsus=dict(unknown), error="Senha do administrador inválida",
                             legacy=legacy)
    entry = evaluate(rnds_info=sf.rnds_info([municipio]), expected=sf.expected(services=["rnds", "cadsus"]))
    assert codes(entry) == [("municipio_error", "error")]
    # not read: neither "enabled" nor "not enabled"
    [out] = entry["municipios"]
    assert out["rnds_enabled"] is None and out["cadsus_enabled"] is None
    assert out["rnds_status"] == "unverified" and entry["rnds_status"] == "unverified"
    assert entry["rnds_enabled"] is False  # true only when every municipality is enabled


# ------------------------------------------------- municipalities the PEC could not read or change


def test_manual_pending_municipality_is_a_warning_with_the_steps():
    entry = evaluate(rnds_info=sf.rnds_info([sf.manual_pending()]), auth=sf.auth())
    problem = only(entry, "manual_pending")
    assert codes(entry) == [("manual_pending", "warning")]
    assert problem["scope"] == "3550308"
    message = problem["message"]
    assert message.startswith("Habilitação manual pendente em São Paulo (IBGE 3550308)")
    assert "Gestão municipal > Certificados" in message and "fms.pfx" in message and "REQ-1" in message
    assert "rnds_pec_api_contract" in message
    [municipio] = entry["municipios"]
    assert municipio["rnds_status"] == "manual_pending" and municipio["status"] == "warning"
    assert municipio["rnds_enabled"] is None  # never claimed either way
    assert municipio["problems"] == [message]
    assert entry["rnds_status"] == "manual_pending" and entry["status"] == "warning"
    assert entry["rnds_enabled"] is False
    summary = R.build_report([entry], now=NOW)["summary"]
    assert summary["manual_pending_municipios"] == 1 and summary["unverified_municipios"] == 0
    assert summary["warning"] == 1 and summary["rnds_enabled_municipios"] == 0


def test_manual_pending_wins_the_host_situation():
    """A host's rnds_status is the most urgent of its municipalities: manual > unverified > disabled > enabled."""
    situations = {
        "manual_pending": sf.manual_pending("1", "Um"),
        "unverified": sf.session_open("2", "Dois"),
        "disabled": sf.municipio("3", "Três", rnds=sf.service_state(enabled=False)),
        "enabled": sf.municipio("4", "Quatro"),
    }
    order = list(R.RNDS_STATUS_PT)
    assert order == ["manual_pending", "unverified", "disabled", "enabled"]
    for start in range(len(order)):
        wanted = order[start:]
        entry = evaluate(rnds_info=sf.rnds_info([situations[s] for s in reversed(wanted)]))
        assert entry["rnds_status"] == wanted[0], (wanted, entry["rnds_status"])
        assert [m["rnds_status"] for m in entry["municipios"]] == list(reversed(wanted))


@pytest.mark.parametrize("answer,code,severity,start,pieces", [
    # already logged in elsewhere: only a warning
    (sf.session_open(), "not_verified_session", "warning", "Não verificado",
     ("já tem uma sessão aberta", "fora do horário de atendimento")),
    # login refused: an error
    (sf.login_refused(), "municipio_error", "error",
     "Não verificado: o PEC recusou a leitura do município São Paulo (IBGE 3550308)", ("login recusado para o CPF",)),
])
def test_municipality_not_read_is_unverified(answer, code, severity, start, pieces):
    entry = evaluate(rnds_info=sf.rnds_info([answer]))
    problem = only(entry, code)
    assert codes(entry) == [(code, severity)]
    assert problem["message"].startswith(start)
    assert all(piece in problem["message"] for piece in pieces), problem["message"]
    [municipio] = entry["municipios"]
    assert municipio["rnds_status"] == "unverified" and municipio["rnds_enabled"] is None
    assert municipio["status"] == severity and entry["status"] == severity
    assert entry["rnds_status"] == "unverified"
    # not read is not "not enabled": no rnds_not_enabled / state_unknown claim
    assert "rnds_not_enabled" not in [c for c, dummy in codes(entry)]
    summary = R.build_report([entry], now=NOW)["summary"]
    assert summary["unverified_municipios"] == 1 and summary["manual_pending_municipios"] == 0


def test_state_shape_and_per_service_shape_give_the_same_report():
    """pec_rnds_info now returns one ``state`` per municipality; the per-service shape is still accepted."""
    dummy, current = sf.build()
    dummy, legacy = sf.build(legacy=True)
    assert current == legacy
    raw = sf.fleet()[0]["rnds_info"]["municipios"][0]
    assert "state" in raw and "rnds" not in raw  # the fixtures use the module's shape


def test_one_certificate_serves_both_services():
    state = sf.state(services=["rnds", "cadsus"], certificate="fms.pfx", days=90)
    entry = evaluate(rnds_info=sf.rnds_info([dict(sf.municipio(), state=state)]),
                     expected=sf.expected(services=["rnds", "cadsus"]))
    assert entry["status"] == "ok", entry["problems"]
    [municipio] = entry["municipios"]
    assert municipio["rnds_enabled"] is True and municipio["cadsus_enabled"] is True
    assert municipio["certificate"] == "fms.pfx" and municipio["days_remaining"] == 90
    # the certificate without CADSUS ticked: CADSUS is not enabled
    entry = evaluate(rnds_info=sf.rnds_info([dict(sf.municipio(), state=sf.state(services=["rnds"]))]),
                     expected=sf.expected(services=["rnds", "cadsus"]))
    only(entry, "cadsus_not_enabled", "error")
    assert entry["municipios"][0]["rnds_status"] == "disabled"


def test_unknown_state_without_error_is_reported_once():
    unknown = dict.fromkeys(("enabled", "enabled_at", "certificate", "fingerprint_sha256", "not_after", "requester_id"))
    municipio = sf.municipio(rnds=dict(unknown), cadsus=dict(unknown))
    entry = evaluate(rnds_info=sf.rnds_info([municipio]), expected=sf.expected(services=["rnds", "cadsus"]))
    problem = only(entry, "state_unknown", "error")
    assert "RNDS e do CADSUS" in problem["message"]
    assert "rnds_not_enabled" not in [code for code, dummy in codes(entry)]


def test_validity_from_the_pec_listing_when_not_enabled():
    info = sf.rnds_info([sf.municipio(rnds=sf.service_state(enabled=False))])
    info["certificates"] = [{"name": "fms.pfx", "size": 1, "sha256": "ab", "fingerprint_sha256": None,
                             "not_after": sf.iso(-1)}]
    entry = evaluate(rnds_info=info)
    only(entry, "certificate_expired", "error")
    only(entry, "rnds_not_enabled", "error")


def test_expected_municipio_not_on_pec():
    entry = evaluate(expected=sf.expected(municipios=[{"ibge": "3550308"}, {"ibge": "3509502", "nome": "Campinas"}]))
    problem = only(entry, "municipio_not_found", "error")
    assert "Campinas (IBGE 3509502)" in problem["message"]
    assert entry["rnds_enabled"] is False


def test_pec_without_municipality():
    entry = evaluate(rnds_info=sf.rnds_info([]))
    only(entry, "no_municipio", "error")


def test_multimunicipal_min_days_and_per_municipality_expectations():
    rnds_info = sf.rnds_info([
        sf.municipio("1", "Um", rnds=sf.service_state(certificate="um.pfx", days=100, requester_id="R1")),
        sf.municipio("2", "Dois", rnds=sf.service_state(certificate="dois.pfx", days=40, requester_id="R2")),
        sf.municipio("3", "Três (não gerido)", rnds=sf.service_state(enabled=False)),
    ])
    expected = sf.expected(certificate_name="", requester_id="", municipios=[
        {"ibge": "1", "certificate_name": "um.pfx", "requester_id": "R1", "admin_password": "segredo"},
        {"ibge": "2", "certificate_name": "dois.pfx", "requester_id": "R2"},
    ])
    entry = evaluate(pec_info=sf.pec_info(files=("um.pfx", "dois.pfx")), rnds_info=rnds_info, expected=expected)
    assert entry["status"] == "ok", entry["problems"]
    assert [m["ibge"] for m in entry["municipios"]] == ["1", "2"]  # unlisted municipality ignored
    assert entry["days_remaining"] == 40 and entry["not_after"] == sf.iso(40)
    assert entry["certificate"] == "dois.pfx, um.pfx"
    assert entry["rnds_enabled"] is True
    assert "segredo" not in json.dumps(entry)


def test_all_pec_municipalities_evaluated_without_inventory_list():
    rnds_info = sf.rnds_info([sf.municipio("1", "Um"), sf.municipio("2", "Dois", rnds=sf.service_state(enabled=False))])
    entry = evaluate(rnds_info=rnds_info)
    assert [m["status"] for m in entry["municipios"]] == ["ok", "error"]
    assert entry["rnds_enabled"] is False


def test_rnds_info_loop_results_are_merged():
    first = sf.rnds_info([sf.municipio("1", "Um")])
    second = sf.rnds_info([sf.municipio("2", "Dois")])
    failed = {"failed": True, "msg": "senha inválida", "item": {"ibge": "3"}}
    entry = evaluate(rnds_info={"results": [first, second, failed]})
    assert sorted(m["ibge"] for m in entry["municipios"]) == ["1", "2"]
    problem = only(entry, "probe_failed")
    assert "município 3" in problem["message"] and "senha inválida" in problem["message"]


def test_host_problems_make_municipality_status_worse():
    entry = evaluate(pec_info=sf.pec_info(variants=("Chaves",)))
    assert entry["municipios"][0]["status"] == "warning"
    assert entry["municipios"][0]["problems"] == []


def test_contra_chave_only_when_asked():
    # pec_rnds_info returns the installation's contra-chave at the top level, only when asked
    rnds_info = sf.rnds_info([sf.municipio()], contra_chave="ABCD-1234-EFGH-5678-IJKL-9012-MNOP-3456")
    entry = evaluate(rnds_info=rnds_info)
    assert "contra_chave" not in entry["municipios"][0] and "ABCD-1234" not in json.dumps(entry)
    entry = evaluate(rnds_info=rnds_info, expected=sf.expected(report_contra_chave=True))
    assert entry["municipios"][0]["contra_chave"] == "ABCD-1234-EFGH-5678-IJKL-9012-MNOP-3456"
    # the older shape kept it on each municipality
    municipio = sf.municipio(legacy=True)
    municipio["contra_chave"] = "CC-1234"
    entry = evaluate(rnds_info=sf.rnds_info([municipio]))
    assert "contra_chave" not in entry["municipios"][0] and "CC-1234" not in json.dumps(entry)
    entry = evaluate(rnds_info=sf.rnds_info([municipio]), expected=sf.expected(report_contra_chave=True))
    assert entry["municipios"][0]["contra_chave"] == "CC-1234"


def test_problems_sorted_errors_first():
    entry = evaluate(pec_info=sf.pec_info(variants=("Chaves",), world_accessible=True))
    severities = [p["severity"] for p in entry["problem_details"]]
    assert severities == sorted(severities, key=lambda s: -R.SEVERITY[s])
    assert entry["problems"] == [p["message"] for p in entry["problem_details"]]


# --------------------------------------------------------------------------- report and renderings


def test_build_report_sorts_and_summarizes():
    module, report = sf.build()
    assert report["generated_at"] == "2026-03-10T15:30:00Z"
    names = [h["host"] for h in report["hosts"]]
    assert names == sorted(names, key=lambda n: (n.lower(), n))
    summary = report["summary"]
    assert summary["hosts_total"] == 10
    assert summary["ok"] + summary["warning"] + summary["error"] == 10
    assert summary["municipios_total"] == 11
    assert summary["expired"] == 1                 # Hortolândia
    assert summary["expiring_30"] == 2             # Sorocaba (12), Santos (20)
    assert summary["unreachable"] == 2             # pec-jundiai, pec-sem-ansible
    assert summary["manual_pending_municipios"] == 1  # Santo André (pec-contrato)
    assert summary["unverified_municipios"] == 2   # São Bernardo (session open), Jundiaí (PEC unreachable)
    situation = dict((h["host"], h["rnds_status"]) for h in report["hosts"])
    assert situation["pec-contrato"] == "manual_pending" and situation["pec-sessao-aberta"] == "unverified"
    assert situation["pec-consorcio-vale"] == "disabled" and situation["pec-campinas"] == "enabled"
    assert module.hosts_at_or_above(report, "error")
    assert set(h["host"] for h in module.hosts_at_or_above(report, "warning")) >= set(
        h["host"] for h in module.hosts_at_or_above(report, "error"))


def test_generated_at_default_is_utc_z():
    report = R.build_report([])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", report["generated_at"])
    assert report["hosts"] == [] and report["summary"]["hosts_total"] == 0


def test_render_json_roundtrip():
    dummy, report = sf.build()
    text = R.render_json(report)
    assert json.loads(text) == report
    assert "São Paulo" in text or "Sorocaba" in text  # UTF-8, not \\u escapes
    assert "\\u00e3" not in text


def _csv_rows(report):
    data = R.render_csv(report).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_render_csv_for_brazilian_spreadsheets():
    dummy, report = sf.build()
    rows = _csv_rows(report)
    assert list(rows[0].keys()) == R.CSV_HEADER
    # one line per municipality; hosts without municipality get one line
    assert len(rows) == 12
    assert R.CSV_HEADER.index("situação RNDS") == R.CSV_HEADER.index("RNDS habilitado") + 1
    vale = [r for r in rows if r["host"] == "pec-consorcio-vale"]
    assert [r["município"] for r in vale] == ["Americana", "Hortolândia", "Nova Odessa"]
    assert all(r["status do host"] == "erro" for r in vale)  # host columns repeated
    horto = [r for r in vale if r["município"] == "Hortolândia"][0]
    assert horto["vence em"] == "07/03/2026"
    assert horto["dias restantes"] == "-3"
    assert re.match(r"^\d\d/\d\d/\d{4}$", horto["vence em"])
    assert horto["RNDS habilitado"] == "sim"
    assert horto["certificado"] == "b.pfx" and horto["certificado esperado"] == "b.pfx"
    assert [r for r in vale if r["município"] == "Nova Odessa"][0]["RNDS habilitado"] == "não"
    assert " | " in horto["problemas"]
    assert "venceu em 07/03/2026" in horto["problemas"]
    assert "velho.p12" in horto["problemas"]  # host-level problem repeated on the line
    ghost = [r for r in rows if r["host"] == "pec-sem-ansible"][0]
    assert ghost["município"] == "" and ghost["status"] == "erro" and ghost["PEC acessível"] == "não"
    assert ghost["situação RNDS"] == "não verificado"
    situation = dict((r["município"], r["situação RNDS"]) for r in rows if r["município"])
    assert situation["Hortolândia"] == "habilitado" and situation["Nova Odessa"] == "não habilitado"
    assert situation["Jundiaí"] == "não verificado"


def test_render_csv_situation_of_municipalities_not_read():
    dummy, report = sf.build()
    rows = dict((r["município"], r) for r in _csv_rows(report) if r["município"])
    manual = rows["Santo André"]
    assert manual["situação RNDS"] == "habilitação manual pendente"
    assert manual["RNDS habilitado"] == "" and manual["status"] == "aviso"
    assert "Habilitação manual pendente em Santo André" in manual["problemas"]
    session = rows["São Bernardo do Campo"]
    assert session["situação RNDS"] == "não verificado" and session["RNDS habilitado"] == ""
    assert session["status"] == "aviso" and session["problemas"].startswith("Não verificado")


def test_render_csv_formula_injection_guard():
    entries = []
    for name in ("=cmd|' /C calc'!A0", "+SOMA(1;2)", "-2+3", "@SUM(A1)", "pec-normal"):
        entries.append(R.evaluate_host(name, None, None, None, None, now=NOW))
    rows = _csv_rows(R.build_report(entries, now=NOW))
    hosts = sorted(r["host"] for r in rows)
    assert "'=cmd|' /C calc'!A0" in hosts
    assert "'+SOMA(1;2)" in hosts and "'-2+3" in hosts and "'@SUM(A1)" in hosts
    assert "pec-normal" in hosts
    for row in rows:
        for value in row.values():
            assert not value[:1] in ("=", "+", "@") and not (value.startswith("-") and not value.lstrip("-").isdigit())


@pytest.mark.parametrize("value", [
    "\n=1+1", "\r\n=HYPERLINK(\"http://x\")", "  =1+1", "\t@SUM(A1)", "\u00a0=1+1", "\u00a0\u00a0+1",
    "\u2003-2+3", "\u3000=1", "\u202f@x", "\u200b=1+1", "\ufeff=1", "\uff1d1+1", "\uff0bSOMA(1;2)",
    "\uff0d2+3", "\uff20SUM(A1)", " \uff1dcmd|' /C calc'!A0", "\ufe661", "\u22121+1", "\nlinha",
])
def test_render_csv_formula_guard_after_spaces_breaks_and_full_width(value):
    """A spreadsheet skips leading spaces/line breaks and may read full-width signs: those cells are guarded."""
    assert _report_render.csv_cell(value) == "'" + value
    report = R.build_report([R.evaluate_host("pec-x", None, None, None, None, now=NOW)], now=NOW)
    report["hosts"][0]["host"] = value  # as if it came from a hostile PEC or inventory
    hosts = [row["host"] for row in _csv_rows(report)]
    assert hosts == ["'" + value], hosts


@pytest.mark.parametrize("value", ["pec normal", " pec com espaço", "\u00a0texto", "12345678000195", "sim (=)",
                                   "a-b", "\uff21BC", "município"])
def test_render_csv_leaves_ordinary_cells_alone(value):
    assert _report_render.csv_cell(value) == value


def test_render_csv_contra_chave_column_only_when_present():
    municipio = sf.municipio()
    municipio["contra_chave"] = "CC-1"
    entry = evaluate(rnds_info=sf.rnds_info([municipio]), expected=sf.expected(report_contra_chave=True))
    rows = _csv_rows(R.build_report([entry], now=NOW))
    assert rows[0]["contra chave"] == "CC-1"
    dummy, report = sf.build()
    assert "contra chave" not in _csv_rows(report)[0]


def test_render_html_self_contained_and_escaped():
    dummy, report = sf.build()
    page = R.render_html(report)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="pt-BR">' in page
    # no external reference at all
    assert not re.search(r"\b(src|href|action|xlink:href)\s*=", page, re.I)
    assert not re.search(r"url\(|@import", page, re.I)
    assert "https://" not in page
    assert [u for u in re.findall(r"http://[^\s<\"']+", page) if not u.startswith("http://127.0.0.1")] == []
    assert "default-src 'none'" in page
    # hostile names escaped everywhere
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Santos &amp; &lt;Região&gt; &#34;Baixada&#34;" in page  # Jinja2 autoescape (markupsafe)
    assert page.count("<script>") == 1
    # pt-BR content: summary, dates, chart, problems in words
    assert ">10/03/2026 12:30</time> (horário de Brasília)" in page  # 15:30 UTC = 12:30 in Brasília
    assert "vencendo em 30 dias" in page and "habilitados" in page
    assert "<svg" in page and "Vencimento dos certificados nos próximos 90 dias" in page
    assert "vencidos" in page
    assert "O certificado b.pfx de Hortolândia (IBGE 3519071) venceu em 07/03/2026" in page
    assert 'id="filtro-texto"' in page and 'id="filtro-status"' in page
    assert page.count('<tr class="row-') == 12
    assert "nenhum em uso<br>esperado: c.pfx" in page  # Nova Odessa, not enabled


def _html_row(page, text):
    [row] = [r for r in re.findall(r'<tr class="row-[^"]*"[^>]*>.*?</tr>', page, re.S) if text in r]
    return row


def test_render_html_situation_cells_and_cards():
    dummy, report = sf.build()
    page = R.render_html(report)
    # the RNDS cell says why there is no yes/no
    assert '<td class="warn" data-sort="">habilitação manual pendente</td>' in _html_row(page, "Santo André")
    assert '<td class="unk" data-sort="">não verificado</td>' in _html_row(page, "São Bernardo do Campo")
    assert "habilitação manual pendente" not in _html_row(page, "Campinas")
    # summary cards, with their counts and a warning colour when not zero
    cards = dict((label, (cls, number)) for cls, number, label in re.findall(
        r'<div class="card (\w+)"><span class="n">([^<]*)</span><span class="l">([^<]*)</span></div>', page))
    assert cards["habilitação manual pendente"] == ("warning", "1")
    assert cards["municípios não verificados"] == ("warning", "2")
    healthy = R.render_html(R.build_report([evaluate()], now=NOW))
    assert '<div class="card ok"><span class="n">0</span><span class="l">habilitação manual pendente</span></div>' in healthy


def test_render_html_without_hosts():
    page = R.render_html(R.build_report([], now=NOW))
    assert "Nenhum host no relatório" in page


def test_render_html_from_entries_without_details():
    """Entries rendered again from an older JSON (no problem_details) still show every problem."""
    entry = {"host": "h1", "status": "warning", "problems": ["um problema & outro"], "municipios": [],
             "reachable": True}
    page = R.render_html(R.build_report([entry], now=NOW))
    assert "um problema &amp; outro" in page


def test_chart_buckets_weekly():
    dummy, report = sf.build()
    buckets, beyond, unknown = _report_html.chart_buckets(report, NOW)
    assert buckets[0]["label"] == "vencidos" and buckets[0]["count"] == 1
    assert len(buckets) == 14
    assert buckets[1]["label"] == "10/03"
    counts = dict((b["label"], b["count"]) for b in buckets)
    assert counts["17/03"] == 1 and counts["24/03"] == 1  # 12 and 20 days
    # Nova Odessa (not enabled), Jundiaí (PEC unreachable), Santo André (manual), São Bernardo (not read)
    assert beyond == 1 and unknown == 4


@pytest.mark.parametrize("value,expected", [
    ("2026-03-10T02:00:00Z", "09/03/2026"),  # 23:00 of the day before in Brasília
    ("2026-03-10T03:00:00Z", "10/03/2026"),
    ("2026-03-10", "10/03/2026"),
    ("2026-03-10T10:00:00+00:00", "10/03/2026"),
    (None, ""),
    ("não é data", ""),
])
def test_local_date(value, expected):
    assert R.local_date(value) == expected


# --------------------------------------------------------------------------- inventory side (operator's path)


def test_missing_admin_login_is_not_verified_not_not_enabled():
    missing = {"ibge": "3509502", "nome": "Campinas", "certificate_name": "fms.pfx",
               "missing": ["rnds_pec_admin_password"],
               "problem": "pec-teste, Campinas (IBGE 3509502): falta rnds_pec_admin_password (senha do Administrador "
                          "Municipal), em secrets/3509502.yml, cifrado com ansible-vault."}
    # the PEC was not asked for this municipality: no municipality in its answer
    entry = evaluate(rnds_info=sf.rnds_info([]), expected=sf.expected(municipios=[missing]))
    municipio = entry["municipios"][0]
    assert municipio["rnds_status"] == "unverified" and municipio["rnds_enabled"] is None
    assert codes(entry) == [("inventory_missing", "error")]
    assert "falta rnds_pec_admin_password" in municipio["problems"][0] and "municipio_not_found" not in str(codes(entry))


def test_inventory_source_that_would_not_deploy_is_an_error():
    expected = sf.expected(source_errors={"fms.pfx": "fms.pfx: Senha do certificado incorreta."})
    entry = evaluate(expected=expected)
    assert entry["status"] == "error"
    problem = only(entry, "source_invalid")
    assert "Senha do certificado incorreta" in problem["message"] and "site.yml e rotate.yml vão falhar" in problem["message"]
    # the PEC side still reads as it is
    assert entry["municipios"][0]["rnds_status"] == "enabled"
