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
        from ansible_collections.esus.rnds.plugins.module_utils import _report
        return _report
    except ImportError:
        path = os.path.join(ROOT, "plugins", "module_utils", "_report.py")
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
    if not enabled:
        return {"enabled": False, "enabled_at": None, "certificate": None, "fingerprint_sha256": None,
                "not_after": None, "requester_id": None}
    return {"enabled": True, "enabled_at": iso(-100, now), "certificate": certificate,
            "fingerprint_sha256": "cd" * 32, "not_after": iso(days, now), "requester_id": requester_id}


def municipio(ibge="3550308", nome="São Paulo", rnds=None, cadsus=None, error=None, now=NOW):
    return {"ibge": ibge, "nome": nome, "error": error,
            "rnds": rnds if rnds is not None else service_state(now=now),
            "cadsus": cadsus if cadsus is not None else service_state(enabled=False)}


def rnds_info(municipios=None, reachable=True, error=None, available=("fms.pfx",), now=NOW):
    return {
        "changed": False, "url": "http://127.0.0.1:8080", "reachable": reachable,
        "pec_version": "5.3.19" if reachable else None, "error": error,
        "certificates_available": list(available) if reachable else [],
        "municipios": (municipios if municipios is not None else [municipio(now=now)]) if reachable else [],
    }


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


def fleet(now=NOW):
    """Raw inputs for a varied fleet: ok, warnings, errors, multimunicipal, unreachable, hostile name."""
    return [
        {"host": "pec-campinas", "pec_info": pec_info(), "rnds_info": rnds_info([municipio("3509502", "Campinas", now=now)]),
         "auth": auth(), "expected": expected()},
        {"host": "pec-sorocaba", "pec_info": pec_info(files=("fms.pfx", "fms.cer"), variants=("Chaves",)),
         "rnds_info": rnds_info([municipio("3552205", "Sorocaba", rnds=service_state(days=12, now=now))]),
         "auth": auth(), "expected": expected()},
        {"host": "pec-consorcio-vale", "pec_info": pec_info(files=("a.pfx", "b.pfx", "velho.p12")),
         "rnds_info": rnds_info([
             municipio("3501608", "Americana", rnds=service_state(certificate="a.pfx", days=45, now=now)),
             municipio("3519071", "Hortolândia", rnds=service_state(certificate="b.pfx", days=-3, now=now)),
             municipio("3533403", "Nova Odessa", rnds=service_state(enabled=False, now=now)),
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
         "rnds_info": rnds_info([municipio("3538709", "Piracicaba", rnds=service_state(days=80, now=now))]),
         "auth": auth(ok=False), "expected": expected()},
        {"host": "<script>alert(1)</script>", "pec_info": pec_info(),
         "rnds_info": rnds_info([municipio("3548500", "Santos & <Região> \"Baixada\"",
                                           rnds=service_state(days=20, now=now))]),
         "auth": auth(), "expected": expected()},
        {"host": "pec-ribeirao", "pec_info": pec_info(),
         "rnds_info": rnds_info([municipio("3543402", "Ribeirão Preto", rnds=service_state(days=61, now=now),
                                           cadsus=service_state(days=61, now=now))]),
         "auth": auth(), "expected": expected(services=["rnds", "cadsus"])},
        {"host": "pec-sem-ansible", "pec_info": None, "rnds_info": None, "auth": None, "expected": expected()},
    ]


def build(now=NOW):
    report = load_report_module()
    entries = [report.evaluate_host(r["host"], r["pec_info"], r["rnds_info"], r["auth"], r["expected"], now=now)
               for r in fleet(now)]
    return report, report.build_report(entries, now=now)
