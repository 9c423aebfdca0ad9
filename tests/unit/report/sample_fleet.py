# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A synthetic fleet (raw module results, as CONTRACTS.md describes them) for report tests."""

from __future__ import annotations

import datetime
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
NOW = datetime.datetime(2026, 3, 10, 15, 30, tzinfo=datetime.timezone.utc)


def load_report_module():
    """The collection's _report module (by namespace when installed, else by file path)."""
    try:
        from ansible_collections.esus.rnds.plugins.plugin_utils import _report
        return _report
    except ImportError:
        path = os.path.join(ROOT, "plugins", "plugin_utils", "_report.py")
        spec = importlib.util.spec_from_file_location("esus_rnds_report", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def iso(days, now=NOW):
    return (now + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pec_info(files=("fms.pfx",), mode="0750", world_accessible=False, variants=(), exists=True,
             chaves_exists=True, is_symlink=False, service_state="running", install_dir="/opt/e-SUS"):
    entries = []
    for name in files:
        kind = "pkcs12" if name.lower().endswith((".pfx", ".p12")) else ("cer" if name.lower().endswith(".cer") else "other")
        entries.append({"name": name, "size": 4321, "mode": "0640", "owner": "root", "group": "esus",
                        "sha256": "ab" * 32, "kind": kind, "world_readable": False})
    return {
        "changed": False, "install_dir": install_dir, "exists": exists, "version": "5.3.19", "os_family": "linux",
        "service": {"name": "e-SUS-PEC", "state": service_state}, "port": 8080, "https": False,
        "url": "http://127.0.0.1:8080",
        "chaves": {"path": install_dir + "/webserver/chaves", "exists": chaves_exists, "is_dir": chaves_exists,
                   "is_symlink": is_symlink, "owner": "root", "group": "esus", "mode": mode,
                   "world_accessible": world_accessible, "files": entries if chaves_exists else []},
        "chaves_variants": list(variants),
    }


def service_state(enabled=True, certificate="fms.pfx", days=200, requester_id="REQ-1", now=NOW):
    """The state of ONE service (``rnds`` or ``cadsus``), as the older pec_rnds_info gave it per service."""
    if not enabled:
        return {"enabled": False, "enabled_at": None, "certificate": None, "fingerprint_sha256": None,
                "not_after": None, "requester_id": None}
    return {"enabled": True, "enabled_at": iso(-100, now), "certificate": certificate,
            "fingerprint_sha256": "cd" * 32, "not_after": iso(days, now), "requester_id": requester_id}


def state(enabled=True, certificate="fms.pfx", services=("rnds",), days=200, requester_id="REQ-1", now=NOW):
    """``municipios[].state`` of pec_rnds_info: ONE certificate per municipality and the services enabled with it."""
    if not enabled:
        return {"enabled": False, "certificate": None, "services": [], "requester_id": None, "enabled_at": None,
                "not_after": None, "fingerprint_sha256": None, "file_sha256": None}
    return {"enabled": True, "certificate": certificate, "services": list(services), "requester_id": requester_id,
            "enabled_at": iso(-100, now), "not_after": iso(days, now), "fingerprint_sha256": "cd" * 32,
            "file_sha256": "ef" * 32}


def as_state(rnds, cadsus):
    """The per-service states ``rnds``/``cadsus`` as one ``state`` (None when neither could be read)."""
    states = (("rnds", rnds or {}), ("cadsus", cadsus or {}))
    enabled = [(service, item) for service, item in states if item.get("enabled") is True]
    if not enabled:
        if all(item.get("enabled") is None for dummy, item in states):
            return None
        return state(enabled=False)
    first = enabled[0][1]
    for service, item in enabled[1:]:
        if item.get("certificate") != first.get("certificate"):
            raise ValueError("um município tem UM certificado para todos os serviços: %s e %s diferem (use legacy=True)"
                             % (first.get("certificate"), item.get("certificate")))
    out = dict(first)
    out["services"] = [service for service, dummy in enabled]
    out.setdefault("file_sha256", None)
    return out


def municipio(ibge="3550308", nome="São Paulo", rnds=None, cadsus=None, error=None, now=NOW, legacy=False,
              status=None, error_code=None):
    """One entry of pec_rnds_info ``municipios``.

    The states are given per service (``rnds``, ``cadsus``, see service_state) and returned in the
    module's shape: ``status`` (ok/error/manual_pending), ``error``, ``error_code`` and ONE ``state``
    (certificate + services). ``legacy=True`` returns the older per-service shape (``rnds``/``cadsus``
    keys), which the report still accepts.
    """
    rnds = rnds if rnds is not None else service_state(now=now)
    cadsus = cadsus if cadsus is not None else service_state(enabled=False)
    if legacy:
        return {"ibge": ibge, "nome": nome, "error": error, "rnds": rnds, "cadsus": cadsus}
    if status is None:
        status = "error" if error else "ok"
    return {"ibge": ibge, "nome": nome, "status": status, "error": error, "error_code": error_code,
            "state": None if error or status == "manual_pending" else as_state(rnds, cadsus)}


MANUAL_PENDING_ERROR = (
    "habilitação manual pendente: o PEC em http://127.0.0.1:8080 não reconhece a operação CertificadoMunicipio "
    "do contrato modelo [ValidationError]")
SESSION_OPEN_ERROR = (
    "o CPF 529.982.247-25 já tem uma sessão aberta no PEC em http://127.0.0.1:8080: rode fora do horário de "
    "atendimento ou use rnds_pec_force_login: true")
LOGIN_REFUSED_ERROR = (
    "login recusado para o CPF 52998224725 no PEC em http://127.0.0.1:8080: confira o usuário e a senha do "
    "Administrador Municipal; o login não será repetido para não bloquear a conta")


def manual_pending(ibge="3550308", nome="São Paulo"):
    """A municipality whose PEC lacks the contract's operations: nothing was read or changed."""
    return municipio(ibge, nome, status="manual_pending", error=MANUAL_PENDING_ERROR, error_code="contract_mismatch")


def session_open(ibge="3550308", nome="São Paulo"):
    """A municipality not read because its admin (a person) was using the PEC and the audit did not force."""
    return municipio(ibge, nome, error=SESSION_OPEN_ERROR, error_code="already_logged_in")


def login_refused(ibge="3550308", nome="São Paulo"):
    return municipio(ibge, nome, error=LOGIN_REFUSED_ERROR, error_code="login_refused")


def rnds_info(municipios=None, reachable=True, error=None, available=("fms.pfx",), now=NOW, contra_chave=None):
    result = {
        "changed": False, "url": "http://127.0.0.1:8080", "reachable": reachable,
        "pec_version": "5.3.19" if reachable else None, "error": error, "contract": "modelo",
        "certificates_available": list(available) if reachable else [],
        "municipios": (municipios if municipios is not None else [municipio(now=now)]) if reachable else [],
    }
    if contra_chave is not None:
        result["contra_chave"] = contra_chave  # one per installation, only when asked
    return result


def auth(ok=True):
    if ok:
        return {"changed": False, "authenticated": True, "url": "https://127.0.0.1:9/api/token", "environment": "homologacao",
                "status_code": 200, "expires_in": 900, "scope": "rnds", "elapsed_ms": 120, "stage": "ok",
                "diagnosis": "Token obtido com sucesso."}
    return {"changed": False, "failed": True, "msg": "falha na autenticação", "authenticated": False,
            "url": "https://127.0.0.1:9/api/token", "environment": "homologacao", "status_code": 401,
            "stage": "http", "elapsed_ms": 80,
            "diagnosis": "A RNDS recusou o certificado (HTTP 401): ele não está credenciado no e-Gestor."}


def expected(**kwargs):
    base = {"certificate_name": "fms.pfx", "min_days_remaining": 30, "expected_cnpj": "",
            "municipios": [], "services": ["rnds"], "report_contra_chave": False, "requester_id": "REQ-1"}
    base.update(kwargs)
    return base


def fleet(now=NOW, legacy=False):
    """Raw inputs for a varied fleet: ok, warnings, errors, multimunicipal, unreachable, hostile name, a PEC whose
    certificate screen does not fit the contract (habilitação manual pendente), and one whose admin was logged in.

    ``legacy=True``: pec_rnds_info results in the older per-service shape (the report accepts both).
    """
    def m(*args, **kwargs):
        return municipio(*args, legacy=legacy, **kwargs)

    return [
        {"host": "pec-campinas", "pec_info": pec_info(), "rnds_info": rnds_info([m("3509502", "Campinas", now=now)]),
         "auth": auth(), "expected": expected()},
        {"host": "pec-sorocaba", "pec_info": pec_info(files=("fms.pfx", "fms.cer"), variants=("Chaves",)),
         "rnds_info": rnds_info([m("3552205", "Sorocaba", rnds=service_state(days=12, now=now))]),
         "auth": auth(), "expected": expected()},
        {"host": "pec-consorcio-vale", "pec_info": pec_info(files=("a.pfx", "b.pfx", "velho.p12")),
         "rnds_info": rnds_info([
             m("3501608", "Americana", rnds=service_state(certificate="a.pfx", days=45, now=now)),
             m("3519071", "Hortolândia", rnds=service_state(certificate="b.pfx", days=-3, now=now)),
             m("3533403", "Nova Odessa", rnds=service_state(enabled=False, now=now)),
         ], available=("a.pfx", "b.pfx", "velho.p12")),
         "auth": None,
         "expected": expected(certificate_name="", municipios=[
             {"ibge": "3501608", "nome": "Americana", "certificate_name": "a.pfx", "requester_id": "REQ-1"},
             {"ibge": "3519071", "nome": "Hortolândia", "certificate_name": "b.pfx", "requester_id": "REQ-1"},
             {"ibge": "3533403", "nome": "Nova Odessa", "certificate_name": "c.pfx", "requester_id": "REQ-9"},
         ])},
        {"host": "pec-jundiai", "pec_info": pec_info(service_state="stopped"),
         "rnds_info": rnds_info(reachable=False, error="conexão recusada"), "auth": None,
         "expected": expected(municipios=[{"ibge": "3525904", "nome": "Jundiaí"}])},
        {"host": "pec-piracicaba", "pec_info": pec_info(world_accessible=True, mode="0777"),
         "rnds_info": rnds_info([m("3538709", "Piracicaba", rnds=service_state(days=80, now=now))]),
         "auth": auth(ok=False), "expected": expected()},
        {"host": "<script>alert(1)</script>", "pec_info": pec_info(),
         "rnds_info": rnds_info([m("3548500", "Santos & <Região> \"Baixada\"",
                                   rnds=service_state(days=20, now=now))]),
         "auth": auth(), "expected": expected()},
        {"host": "pec-ribeirao", "pec_info": pec_info(),
         "rnds_info": rnds_info([m("3543402", "Ribeirão Preto", rnds=service_state(days=61, now=now),
                                   cadsus=service_state(days=61, now=now))]),
         "auth": auth(), "expected": expected(services=["rnds", "cadsus"])},
        {"host": "pec-sem-ansible", "pec_info": None, "rnds_info": None, "auth": None, "expected": expected()},
        {"host": "pec-contrato", "pec_info": pec_info(), "rnds_info": rnds_info([manual_pending("3547809", "Santo André")]),
         "auth": auth(), "expected": expected(municipios=[{"ibge": "3547809", "nome": "Santo André"}])},
        {"host": "pec-sessao-aberta", "pec_info": pec_info(), "rnds_info": rnds_info([session_open("3548708", "São Bernardo do Campo")]),
         "auth": auth(), "expected": expected()},
    ]


def build(now=NOW, legacy=False):
    report = load_report_module()
    entries = [report.evaluate_host(r["host"], r["pec_info"], r["rnds_info"], r["auth"], r["expected"], now=now)
               for r in fleet(now, legacy=legacy)]
    return report, report.build_report(entries, now=now)
