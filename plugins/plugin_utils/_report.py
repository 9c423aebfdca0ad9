# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): fleet report evaluation and JSON/CSV/HTML rendering."""

# Controller only: used by the rnds_report and rnds_report_merge action plugins.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import datetime
import html
import io
import json
import math
import re

try:
    from zoneinfo import ZoneInfo  # Python >= 3.9 with tz data available
    _LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
except Exception:  # pylint: disable=broad-except
    # Brazil has had no daylight saving time since 2019: America/Sao_Paulo is UTC-03:00.
    _LOCAL_TZ = datetime.timezone(datetime.timedelta(hours=-3), "-03")

SEVERITY = {"ok": 0, "warning": 1, "error": 2}
STATUS_PT = {"ok": "ok", "warning": "aviso", "error": "erro"}
LEVELS = ("ok", "warning", "error")
SERVICE_LABEL = {"rnds": "RNDS", "cadsus": "CADSUS"}
# RNDS situation of a municipality (and of a host: the first of this order among its municipalities).
RNDS_STATUS_PT = {
    "manual_pending": "habilitação manual pendente",
    "unverified": "não verificado",
    "disabled": "não habilitado",
    "enabled": "habilitado",
}
DEFAULT_MIN_DAYS = 30
EXPIRING_WINDOW_DAYS = 30
CHART_DAYS = 90

# Keys of an expected-municipality entry this module reads. Anything else (passwords from the
# inventory, for instance) is ignored and never copied into the report.
_EXPECTED_MUNICIPIO_KEYS = ("ibge", "nome", "certificate_name", "requester_id", "expected_cnpj", "services",
                            "problem", "missing")
# Without these the PEC was not asked (no login without a password): the municipality is "não verificado".
_ADMIN_KEYS = ("rnds_pec_admin_user", "rnds_pec_admin_password")


# --------------------------------------------------------------------------- small helpers


def _utc(value):
    """datetime/ISO string/None -> aware UTC datetime (None -> now)."""
    if value is None:
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("data/hora inválida: %r" % (value,))
    return parsed


def parse_datetime(value):
    """Parse ISO 8601 ('2026-01-31T12:00:00Z', with offset, or a bare date) to aware UTC, else None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return _utc(value)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=_LOCAL_TZ).astimezone(datetime.timezone.utc)
    text = str(value).strip()
    if len(text) == 10:
        # A bare calendar date means that day in Brasília (midnight local time).
        try:
            day = datetime.datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return None
        return day.replace(tzinfo=_LOCAL_TZ).astimezone(datetime.timezone.utc)
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.datetime.strptime(text[:10], "%Y-%m-%d")
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def iso_utc(value):
    """Aware datetime -> 'YYYY-MM-DDTHH:MM:SSZ'."""
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_date(value):
    """ISO string or datetime -> 'dd/mm/aaaa' in America/Sao_Paulo time ('' when unknown)."""
    parsed = parse_datetime(value)
    if parsed is None:
        return ""
    return parsed.astimezone(_LOCAL_TZ).strftime("%d/%m/%Y")


def local_datetime(value):
    """ISO string or datetime -> 'dd/mm/aaaa HH:MM' in America/Sao_Paulo time ('' when unknown)."""
    parsed = parse_datetime(value)
    if parsed is None:
        return ""
    return parsed.astimezone(_LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def days_until(not_after, now):
    """Whole days from now until not_after, rounded down (negative once expired)."""
    return int(math.floor((not_after - now).total_seconds() / 86400.0))


def _worst(levels):
    worst = "ok"
    for level in levels:
        if SEVERITY.get(level, 0) > SEVERITY[worst]:
            worst = level
    return worst


def _text(value):
    if value is None:
        return ""
    return str(value).strip()


def _norm_cnpj(value):
    text = _text(value).upper()
    for char in " ./-":
        text = text.replace(char, "")
    return text


def _fmt_cnpj(value):
    text = _norm_cnpj(value)
    if len(text) == 14:
        return "%s.%s.%s/%s-%s" % (text[:2], text[2:5], text[5:8], text[8:12], text[12:])
    return _text(value)


def _is_failed(result):
    return isinstance(result, dict) and bool(result.get("failed") or result.get("unreachable"))


def _is_skipped(result):
    return isinstance(result, dict) and bool(result.get("skipped")) and not _is_failed(result)


def _failure_message(result):
    msg = _text(result.get("msg")) if isinstance(result, dict) else ""
    if result.get("unreachable"):
        return msg or "host inacessível"
    return msg or "a tarefa falhou sem mensagem"


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _item_ibge(result):
    """IBGE of a loop item (register of a task looped over municipalities), if any."""
    for key in ("ibge", "municipio"):
        if result.get(key) not in (None, "") and not isinstance(result.get(key), dict):
            return _text(result.get(key))
    item = result.get("item")
    if isinstance(item, dict):
        for key in ("ibge", "rnds_municipio_ibge", "municipio"):
            if item.get(key) not in (None, ""):
                return _text(item.get(key))
    elif item not in (None, ""):
        return _text(item)
    return ""


def _loop_items(result):
    """A registered result -> list of single results (loops are flattened, skipped dropped)."""
    if result is None:
        return []
    if isinstance(result, list):
        items = result
    elif isinstance(result, dict) and isinstance(result.get("results"), list):
        items = result["results"]
    else:
        items = [result]
    return [r for r in items if isinstance(r, dict) and not _is_skipped(r)]


# --------------------------------------------------------------------------- expectations


def _normalize_expected(expected):
    expected = dict(expected or {})
    try:
        min_days = int(expected.get("min_days_remaining", DEFAULT_MIN_DAYS))
    except (TypeError, ValueError):
        min_days = DEFAULT_MIN_DAYS
    services = [str(s).lower() for s in _as_list(expected.get("services")) if s] or ["rnds"]
    host_defaults = {
        "ibge": _text(expected.get("ibge") or expected.get("municipio_ibge")),
        "nome": _text(expected.get("nome")),
        "certificate_name": _text(expected.get("certificate_name")),
        "requester_id": _text(expected.get("requester_id")),
        "expected_cnpj": _text(expected.get("expected_cnpj")),
        "services": services,
        "problem": "",
        "missing": [],
    }
    municipios = []
    for item in _as_list(expected.get("municipios")):
        if not isinstance(item, dict):
            continue
        entry = {}
        for key in _EXPECTED_MUNICIPIO_KEYS:
            value = item.get(key)
            if key == "services":
                value = [str(s).lower() for s in _as_list(value) if s]
            elif key == "missing":
                value = [_text(s) for s in _as_list(value) if s]
            else:
                value = _text(value)
            entry[key] = value or host_defaults[key]
        municipios.append(entry)
    if not municipios and host_defaults["ibge"]:
        municipios.append(dict(host_defaults))
    certificates = expected.get("certificates")
    source_errors = expected.get("source_errors")
    return {
        "source_errors": dict((_text(k), _text(v)) for k, v in source_errors.items() if _text(k))
        if isinstance(source_errors, dict) else {},
        "min_days_remaining": min_days,
        "report_contra_chave": bool(expected.get("report_contra_chave", False)),
        "defaults": host_defaults,
        "municipios": municipios,
        "certificates": certificates if isinstance(certificates, dict) else {},
        "pec_certificates": {},
    }


# --------------------------------------------------------------------------- evaluation


class _Problems(object):
    def __init__(self):
        self.items = []

    def add(self, code, severity, message, scope="host"):
        self.items.append({"code": code, "severity": severity, "scope": scope, "message": message})

    def for_scope(self, scope):
        return [p for p in self.items if p["scope"] == scope]


def _merge_rnds_info(rnds_info, problems):
    """Flatten pec_rnds_info (single result or loop) -> dict or None; failures become problems."""
    merged = None
    for result in _loop_items(rnds_info):
        if _is_failed(result):
            label = _item_ibge(result)
            problems.add(
                "probe_failed", "error",
                "A leitura do estado RNDS no PEC (pec_rnds_info%s) falhou: %s Corrija a causa indicada "
                "(URL, usuário e senha do administrador municipal) e rode a auditoria de novo."
                % (", município %s" % label if label else "", _sentence(_failure_message(result))),
                label or "host")
            continue
        if merged is None:
            merged = {"url": result.get("url"), "reachable": bool(result.get("reachable")),
                      "pec_version": result.get("pec_version"), "error": result.get("error"),
                      "certificates_available": list(result.get("certificates_available") or []),
                      "certificates": [], "municipios": [], "force_login_used": False, "insecure_http": False}
        else:
            merged["reachable"] = merged["reachable"] or bool(result.get("reachable"))
            merged["pec_version"] = merged["pec_version"] or result.get("pec_version")
            merged["error"] = merged["error"] or result.get("error")
            for name in result.get("certificates_available") or []:
                if name not in merged["certificates_available"]:
                    merged["certificates_available"].append(name)
        merged["force_login_used"] = merged["force_login_used"] or bool(result.get("force_login_used"))
        merged["insecure_http"] = merged["insecure_http"] or bool(result.get("insecure_http"))
        merged["certificates"].extend(c for c in result.get("certificates") or [] if isinstance(c, dict))
        known = set(_text(m.get("ibge")) for m in merged["municipios"])
        for municipio in result.get("municipios") or []:
            if isinstance(municipio, dict) and _text(municipio.get("ibge")) not in known:
                municipio = _with_service_states(municipio)
                if "contra_chave" in result:  # one per installation
                    municipio["contra_chave"] = result.get("contra_chave")
                merged["municipios"].append(municipio)
                known.add(_text(municipio.get("ibge")))
    return merged


def _with_service_states(municipio):
    """pec_rnds_info gives one certificate per municipality with its services; the checks below read
    one state per service (``rnds``, ``cadsus``), with ``enabled`` None when it could not be read."""
    municipio = dict(municipio)
    state = municipio.get("state")
    if "rnds" in municipio or "cadsus" in municipio:
        return municipio
    for service in SERVICE_LABEL:
        if not isinstance(state, dict):
            municipio[service] = {"enabled": None}
            continue
        enabled = service in (state.get("services") or []) and bool(_text(state.get("certificate")))
        municipio[service] = dict(state, enabled=enabled) if enabled else {"enabled": False}
    return municipio


def _check_pec_info(pec_info, exp, problems, in_use):
    """Installation and chaves checks. Returns (data or None, list of file names in chaves or None)."""
    if pec_info is None or _is_skipped(pec_info):
        return None, None
    if isinstance(pec_info, dict) and pec_info.get("unreachable"):
        problems.add(
            "host_unreachable", "error",
            "O Ansible não conseguiu se conectar a este host: %s Verifique rede, SSH/WinRM e credenciais "
            "(ansible -m ansible.builtin.ping HOST) e rode a auditoria de novo." % _sentence(_failure_message(pec_info)))
        return None, None
    if _is_failed(pec_info):
        problems.add(
            "probe_failed", "error",
            "A coleta de informações da instalação (pec_info) falhou: %s Corrija a causa indicada e rode "
            "a auditoria de novo." % _sentence(_failure_message(pec_info)))
        return None, None
    if pec_info.get("exists") is False:
        problems.add(
            "pec_not_installed", "error",
            "O PEC não foi encontrado em %s. Confira rnds_pec_install_dir no inventário ou instale o PEC "
            "neste servidor." % (_text(pec_info.get("install_dir")) or "(pasta de instalação)"))
        return pec_info, None
    chaves = pec_info.get("chaves") or {}
    path = _text(chaves.get("path")) or "webserver/chaves"
    dirname = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "chaves"
    files = None
    if chaves.get("is_symlink"):
        problems.add(
            "chaves_symlink", "error",
            "A pasta %s é um link simbólico. O PEC pode não encontrar os certificados e as permissões "
            "não podem ser garantidas: substitua o link por uma pasta real (dono: usuário do serviço do "
            "PEC, modo 0750) com os arquivos .pfx/.p12." % path)
    if not chaves.get("exists"):
        problems.add(
            "chaves_missing", "error",
            "A pasta de certificados %s não existe. Crie-a e coloque nela o arquivo .pfx/.p12 do "
            "município com o papel esus.rnds.certificate (playbooks/site.yml)." % path)
    elif chaves.get("is_dir") is False:
        problems.add(
            "chaves_not_dir", "error",
            "%s existe mas não é uma pasta. Renomeie ou remova esse arquivo e crie a pasta %s com o papel "
            "esus.rnds.certificate." % (path, dirname))
    else:
        files = []
        if chaves.get("world_accessible"):
            problems.add(
                "chaves_world_accessible", "error",
                "A pasta %s está acessível a qualquer usuário do servidor (modo %s). Os certificados contêm "
                "chaves privadas: restrinja o acesso com chmod 0750 %s (dono: usuário do serviço do PEC)."
                % (path, _text(chaves.get("mode")) or "?", path))
        for entry in chaves.get("files") or []:
            if not isinstance(entry, dict):
                continue
            name = _text(entry.get("name"))
            files.append(name)
            if entry.get("world_readable") and entry.get("kind") != "cer" and not entry.get("is_dir"):
                problems.add(
                    "file_world_readable", "error",
                    "O arquivo %s na pasta %s pode ser lido por qualquer usuário do servidor (modo %s) e "
                    "contém a chave privada do certificado. Corrija com chmod 0640 %s/%s."
                    % (name, dirname, _text(entry.get("mode")) or "?", path, name))
            kind = entry.get("kind")
            if kind == "cer" or (not kind and name.lower().endswith((".cer", ".crt"))):
                problems.add(
                    "cer_file", "warning",
                    "O arquivo %s na pasta %s é um certificado sem a chave privada (.cer): o PEC não consegue "
                    "usá-lo. Use o arquivo .pfx/.p12 (com senha) recebido com o certificado e remova o %s da "
                    "pasta." % (name, dirname, name))
        expected_names = set(n for n in _expected_certificate_names(exp) if n)
        has_pkcs12 = any(isinstance(e, dict) and (e.get("kind") == "pkcs12" or _text(e.get("name")).lower().endswith((".pfx", ".p12")))
                         for e in chaves.get("files") or [])
        if not has_pkcs12 and not expected_names:
            problems.add(
                "no_certificate_file", "error",
                "A pasta %s não tem nenhum arquivo .pfx/.p12: o PEC não tem certificado para habilitar o RNDS. "
                "Implante o certificado do município com o papel esus.rnds.certificate (playbooks/site.yml)." % path)
        if expected_names:
            for entry in chaves.get("files") or []:
                if not isinstance(entry, dict):
                    continue
                name = _text(entry.get("name"))
                is_pkcs12 = entry.get("kind") == "pkcs12" or name.lower().endswith((".pfx", ".p12"))
                if is_pkcs12 and name not in expected_names and name not in in_use:
                    problems.add(
                        "stray_certificate", "warning",
                        "O arquivo %s na pasta %s não é o certificado esperado pelo inventário (%s). Se for "
                        "um certificado antigo ou de teste, remova-o para que não seja escolhido por engano "
                        "(o papel esus.rnds.certificate pode fazer a limpeza)."
                        % (name, dirname, ", ".join(sorted(expected_names))))
    for variant in pec_info.get("chaves_variants") or []:
        problems.add(
            "chaves_case_variant", "warning",
            "Existe também a pasta %s ao lado de %s (diferença só de maiúsculas/minúsculas). No Linux o PEC "
            "lê apenas %s: mova os certificados para ela e remova %s para evitar confusão."
            % (_text(variant), dirname, dirname, _text(variant)))
    return pec_info, files


def _expected_certificate_names(exp):
    names = [exp["defaults"]["certificate_name"]]
    names.extend(m["certificate_name"] for m in exp["municipios"])
    return names


def _summarize_auth(auth, targets, problems):
    """rnds_auth result(s) -> host auth summary (or None); failures become problems."""
    items = _loop_items(auth)
    if not items:
        return None
    target_ibges = set(t[0]["ibge"] for t in targets if t[0]["ibge"])
    summary = None
    for result in items:
        ibge = _item_ibge(result)
        scope = ibge if ibge in target_ibges else "host"
        if _is_failed(result) and "authenticated" not in result:
            problems.add(
                "probe_failed", "error",
                "O teste de autenticação na RNDS (rnds_auth) falhou: %s Corrija a causa indicada e rode a "
                "auditoria de novo." % _sentence(_failure_message(result)), scope)
            entry = {"authenticated": False, "diagnosis": _failure_message(result), "stage": None}
        else:
            entry = {
                "authenticated": bool(result.get("authenticated")),
                "diagnosis": result.get("diagnosis"),
                "stage": result.get("stage"),
                "status_code": result.get("status_code"),
                "environment": result.get("environment"),
                "elapsed_ms": result.get("elapsed_ms"),
                "expires_in": result.get("expires_in"),
            }
            if not entry["authenticated"]:
                problems.add(
                    "rnds_auth_failed", "error",
                    "A autenticação na RNDS com o certificado falhou%s%s: %s Confira se o certificado está "
                    "credenciado no e-Gestor AB e se este servidor alcança o serviço da RNDS (DNS, firewall, "
                    "proxy)." % (
                        " (etapa %s)" % _text(entry["stage"]) if entry["stage"] else "",
                        " para o município %s" % ibge if scope != "host" else "",
                        _sentence(entry["diagnosis"] or "sem diagnóstico")),
                    scope)
        if ibge:
            entry["ibge"] = ibge
        if summary is None:
            summary = dict(entry)
            summary["results"] = []
        elif not entry["authenticated"] and summary["authenticated"]:
            summary.update(entry)
        summary["authenticated"] = summary["authenticated"] and entry["authenticated"]
        if len(items) > 1:
            summary["results"].append(entry)
    if not summary["results"]:
        del summary["results"]
    summary.pop("ibge", None)
    return summary


def _sentence(text):
    text = _text(text)
    if text and text[-1] not in ".!?":
        text += "."
    return text


def _targets(exp, pec_municipios):
    """Pairs (expected entry, PEC municipality or None) to evaluate."""
    by_ibge = {}
    for municipio in pec_municipios:
        by_ibge.setdefault(_text(municipio.get("ibge")), municipio)
    targets = []
    if exp["municipios"]:
        for entry in exp["municipios"]:
            if entry["ibge"]:
                targets.append((entry, by_ibge.get(entry["ibge"])))
            else:
                for municipio in pec_municipios:
                    target = dict(entry)
                    target["ibge"] = _text(municipio.get("ibge"))
                    targets.append((target, municipio))
    else:
        for municipio in pec_municipios:
            target = dict(exp["defaults"])
            target["ibge"] = _text(municipio.get("ibge"))
            targets.append((target, municipio))
    return targets


def _evaluate_municipio(entry, municipio, exp, problems, now, verified):
    ibge = entry["ibge"]
    nome = _text((municipio or {}).get("nome")) or entry["nome"]
    label = "%s (IBGE %s)" % (nome, ibge) if nome else "IBGE %s" % ibge
    services = entry["services"] or exp["defaults"]["services"]
    out = {
        "ibge": ibge, "nome": nome, "status": "ok", "rnds_status": "unverified", "rnds_enabled": None,
        "cadsus_enabled": None,
        "certificate": None, "expected_certificate": entry["certificate_name"] or None,
        "days_remaining": None, "not_after": None, "expired": False,
        "requester_id": None, "enabled_at": None, "services": list(services), "problems": [],
    }
    if entry.get("problem"):
        problems.add(
            "inventory_missing", "error",
            "%s Corrija o inventário e rode de novo (docs/mensagens.md)." % _sentence(entry["problem"]), ibge or "host")
        if any(key in entry.get("missing") or [] for key in _ADMIN_KEYS):
            out["rnds_enabled"] = None
            return out  # the PEC was not asked: "não verificado"
    source_error = exp["source_errors"].get(entry["certificate_name"]) if entry["certificate_name"] else None
    if source_error:
        problems.add(
            "source_invalid", "error",
            "O arquivo de %s no controlador (rnds_certificate_src) não serve para implantar: %s "
            "site.yml e rotate.yml vão falhar para este município até que o arquivo ou a senha do inventário sejam "
            "corrigidos." % (label, _sentence(source_error)), ibge or "host")
    if municipio is None:
        if verified:
            problems.add(
                "municipio_not_found", "error",
                "O município %s do inventário não está configurado neste PEC. Confira rnds_municipio_ibge / "
                "rnds_municipios no inventário ou cadastre o município no PEC." % label, ibge)
        return out
    if municipio.get("status") == "manual_pending":
        problems.add(
            "manual_pending", "warning",
            "Habilitação manual pendente em %s: o PEC não tem as operações do contrato da API usado pela coleção, "
            "então o estado do RNDS não pôde ser lido nem alterado. O Administrador Municipal confere e habilita em "
            "Gestão municipal > Certificados (certificado %s, identificador %s); para automatizar, ajuste o contrato "
            "(rnds_pec_api_contract, docs/pec-api.md)."
            % (label, entry["certificate_name"] or "da pasta chaves", entry["requester_id"] or "do e-Gestor AB"), ibge)
        out["rnds_status"] = "manual_pending"
        out["rnds_enabled"] = None
        return out
    if _text(municipio.get("error")):
        if municipio.get("error_code") == "already_logged_in":
            problems.add(
                "not_verified_session", "warning",
                "Não verificado (%s): %s" % (label, _sentence(municipio.get("error"))), ibge)
        else:
            problems.add(
                "municipio_error", "error",
                "Não verificado: o PEC recusou a leitura do município %s: %s Verifique o usuário (CPF) e a senha do "
                "Administrador Municipal e o estado do município no PEC." % (label, _sentence(municipio.get("error"))),
                ibge)
        out["rnds_enabled"] = None
        return out
    rnds = municipio.get("rnds") if isinstance(municipio.get("rnds"), dict) else {}
    cadsus = municipio.get("cadsus") if isinstance(municipio.get("cadsus"), dict) else None
    states = {"rnds": rnds, "cadsus": cadsus or {}}
    out["rnds_enabled"] = all(states.get(s, {}).get("enabled") is True for s in services)
    out["rnds_status"] = "enabled" if out["rnds_enabled"] else (
        "unverified" if any(states.get(s, {}).get("enabled") is None for s in services) else "disabled")
    if cadsus is not None:
        out["cadsus_enabled"] = cadsus.get("enabled") is True
    out["requester_id"] = _text(rnds.get("requester_id")) or None
    out["enabled_at"] = rnds.get("enabled_at")
    if exp["report_contra_chave"] and "contra_chave" in municipio:
        out["contra_chave"] = municipio.get("contra_chave")

    unknown = []
    for service in services:
        state = states.get(service) or {}
        if state.get("enabled") is True:
            continue
        if state.get("enabled") is None:
            unknown.append(SERVICE_LABEL.get(service, service))
            continue
        if service == "rnds":
            problems.add(
                "rnds_not_enabled", "error",
                "O RNDS não está habilitado no PEC para %s. Habilite com o papel esus.rnds.enable "
                "(playbooks/site.yml), informando certificado, senha e identificador do solicitante." % label, ibge)
        elif service == "cadsus":
            problems.add(
                "cadsus_not_enabled", "error",
                "O CADSUS não está habilitado no PEC para %s, mas o inventário pede (rnds_services inclui "
                "cadsus). Habilite com o papel esus.rnds.enable (playbooks/site.yml)." % label, ibge)
        else:
            problems.add(
                "service_not_enabled", "error",
                "O serviço %s não está habilitado no PEC para %s. Habilite com o papel esus.rnds.enable."
                % (service, label), ibge)

    if unknown and not _text(municipio.get("error")):
        problems.add(
            "state_unknown", "error",
            "O PEC não informou o estado do %s para %s (sem credenciais do administrador municipal ou sem "
            "permissão). Confira rnds_pec_admin_user / rnds_pec_admin_password deste município e rode a "
            "auditoria de novo." % (" e do ".join(unknown), label), ibge)

    # Certificates in use (per enabled expected service, RNDS first).
    used = []
    for service in ["rnds"] + [s for s in services if s != "rnds"]:
        state = states.get(service) or {}
        if state.get("enabled") is True and _text(state.get("certificate")):
            used.append((service, state))
    expected_name = entry["certificate_name"]
    if used:
        out["certificate"] = _text(used[0][1].get("certificate"))
    for service, state in used:
        name = _text(state.get("certificate"))
        if expected_name and name != expected_name:
            problems.add(
                "certificate_mismatch", "warning",
                "O PEC usa o certificado %s no %s de %s, mas o inventário espera %s. Se o certificado foi "
                "trocado de propósito, atualize rnds_certificate_name; senão reabilite com o certificado "
                "certo (playbooks/rotate.yml)." % (name, SERVICE_LABEL.get(service, service), label, expected_name),
                ibge)
        if service == "rnds" and entry["requester_id"]:
            found = _text(state.get("requester_id"))
            if found and found != entry["requester_id"]:
                problems.add(
                    "requester_mismatch", "warning",
                    "O identificador do solicitante configurado no PEC para %s (%s) é diferente do inventário "
                    "(%s). Confira em e-Gestor AB, \"Credenciais geradas\", e corrija rnds_requester_id ou "
                    "reabilite com o identificador certo." % (label, found, entry["requester_id"]), ibge)

    # Validity: the certificates in use; else what the controller knows of the expected file.
    validity = []
    for service, state in used:
        validity.append((_text(state.get("certificate")), parse_datetime(state.get("not_after")), state.get("cnpj")))
    info = exp["certificates"].get(expected_name) if expected_name else None
    if not isinstance(info, dict) and expected_name and not used:
        # What the PEC itself knows of the file in chaves (pec_rnds_info `certificates`), if anything.
        info = exp["pec_certificates"].get(expected_name)
    if isinstance(info, dict):
        if not used:
            validity.append((expected_name, parse_datetime(info.get("not_after")), info.get("cnpj")))
        elif info.get("cnpj") and all(name == expected_name for name, dummy, dummy2 in validity):
            validity = [(n, na, cnpj or info.get("cnpj")) for n, na, cnpj in validity]
    seen = set()
    for name, not_after, cnpj in validity:
        if (name, not_after) in seen:
            continue
        seen.add((name, not_after))
        if not_after is not None:
            days = days_until(not_after, now)
            if out["days_remaining"] is None or days < out["days_remaining"]:
                out["days_remaining"] = days
                out["not_after"] = iso_utc(not_after)
                out["expired"] = not_after <= now
            if not_after <= now:
                ago = int((now - not_after).total_seconds() // 86400)
                problems.add(
                    "certificate_expired", "error",
                    "O certificado %s de %s venceu em %s (%s). O PEC não consegue mais se autenticar na RNDS: "
                    "obtenha um novo certificado A1 (e-Gestor AB, credenciamento) e troque-o com "
                    "playbooks/rotate.yml." % (name, label, local_date(not_after),
                                               "há %d dia(s)" % ago if ago else "há menos de 1 dia"), ibge)
            elif days < exp["min_days_remaining"]:
                problems.add(
                    "certificate_expiring", "warning",
                    "O certificado %s de %s vence em %s (faltam %d dia(s); o mínimo configurado é %d). "
                    "Providencie a renovação e troque-o com playbooks/rotate.yml antes do vencimento."
                    % (name, label, local_date(not_after), days, exp["min_days_remaining"]), ibge)
        if entry["expected_cnpj"] and _text(cnpj) and _norm_cnpj(cnpj) != _norm_cnpj(entry["expected_cnpj"]):
            problems.add(
                "cnpj_mismatch", "error",
                "O CNPJ do certificado %s (%s) é diferente do CNPJ esperado do Fundo Municipal de Saúde de %s "
                "(%s). Use o e-CNPJ do FMS do município ou corrija rnds_expected_cnpj no inventário."
                % (name, _fmt_cnpj(cnpj), label, _fmt_cnpj(entry["expected_cnpj"])), ibge)
    return out


def evaluate_host(host, pec_info, rnds_info, auth, expected, now=None):
    """Turn the raw audit results of one host into a report host entry (see docs/report.md)."""
    now = _utc(now)
    exp = _normalize_expected(expected)
    problems = _Problems()
    host = _text(host)

    collected = [r for r in (pec_info, rnds_info, auth) if r is not None and not _is_skipped(r)]
    if not collected:
        problems.add(
            "no_data", "error",
            "Nenhum resultado da auditoria foi coletado deste host (sem conexão com o Ansible ou falha antes "
            "das coletas). Teste a conexão (ansible -m ansible.builtin.ping %s) e rode a auditoria de novo."
            % (host or "HOST"))

    info = _merge_rnds_info(rnds_info, problems)
    exp["pec_certificates"] = dict((_text(c.get("name")), c) for c in reversed((info or {}).get("certificates") or []))
    pec_municipios = [m for m in (info or {}).get("municipios") or [] if isinstance(m, dict)]
    in_use = set()
    for municipio in pec_municipios:
        for key in ("rnds", "cadsus"):
            state = municipio.get(key)
            if isinstance(state, dict) and state.get("enabled") and _text(state.get("certificate")):
                in_use.add(_text(state.get("certificate")))

    pec, files = _check_pec_info(pec_info, exp, problems, in_use)
    installed = not (isinstance(pec, dict) and pec.get("exists") is False)

    reachable = bool(info and info.get("reachable"))
    if info is not None and not reachable:
        service = ((pec or {}).get("service") or {}) if isinstance(pec, dict) else {}
        state = _text(service.get("state"))
        name = _text(service.get("name")) or "e-SUS-PEC"
        if state == "stopped":
            action = ("O serviço %s está parado: inicie-o (systemctl start %s) e veja o log do PEC se ele não subir; "
                      "confira também rnds_pec_url e a porta em webserver/config/application.properties." % (name, name))
        else:
            action = ("Verifique se o serviço %s está em execução (systemctl status %s) e se rnds_pec_url e a porta "
                      "em webserver/config/application.properties estão corretas." % (name, name))
        problems.add(
            "pec_unreachable", "error",
            "O PEC não respondeu em %s%s. %s"
            % (_text(info.get("url")) or "(URL do PEC)",
               ": %s" % _text(info.get("error")).rstrip(".") if _text(info.get("error")) else "", action))
    elif info is None and rnds_info is None and pec is not None and installed:
        problems.add(
            "rnds_info_missing", "error",
            "O estado RNDS do PEC (pec_rnds_info) não foi coletado neste host. Rode a auditoria completa "
            "(papel esus.rnds.audit, playbooks/audit.yml).")

    if info is not None and info.get("insecure_http"):
        problems.add(
            "insecure_http", "warning",
            "O PEC foi lido por http:// a partir de outra máquina (%s, rnds_pec_allow_insecure_http: true): a senha do "
            "Administrador Municipal passou pela rede sem criptografia. Configure HTTPS no PEC e use https:// em "
            "rnds_pec_url (docs/https-pec.md)." % (_text(info.get("url")) or "URL do PEC"))
    if info is not None and info.get("force_login_used"):
        problems.add(
            "force_login", "warning",
            "A auditoria entrou no PEC com rnds_pec_force_login: true: se o Administrador Municipal estava usando o "
            "PEC, a sessão dele foi encerrada. Desligue essa opção ou rode a auditoria fora do horário de atendimento.")
    if files is None and reachable and pec_info is None:
        files = [_text(n) for n in info.get("certificates_available") or []]
    if files is not None:
        chaves = ((pec or {}).get("chaves") or {}) if isinstance(pec, dict) else {}
        path = _text(chaves.get("path")) or "chaves"
        for name in sorted(set(n for n in _expected_certificate_names(exp) if n)):
            if name not in files:
                problems.add(
                    "certificate_file_missing", "error",
                    "O certificado esperado %s não está na pasta %s. Implante-o com o papel "
                    "esus.rnds.certificate (rnds_certificate_src) ou corrija rnds_certificate_name no "
                    "inventário." % (name, path))

    targets = _targets(exp, pec_municipios) if reachable else [(e, None) for e in exp["municipios"]]
    auth_summary = _summarize_auth(auth, targets, problems)

    municipios = []
    for entry, municipio in targets:
        municipios.append(_evaluate_municipio(entry, municipio, exp, problems, now, reachable))
    if reachable and not targets:
        problems.add(
            "no_municipio", "error",
            "O PEC não tem nenhum município configurado para o RNDS. Confira a instalação (Gestão Municipal) "
            "e rnds_municipio_ibge / rnds_municipios no inventário.")

    items = sorted(problems.items, key=lambda p: -SEVERITY[p["severity"]])
    host_level = [p for p in items if p["scope"] == "host"]
    host_worst = _worst(p["severity"] for p in host_level)
    for municipio in municipios:
        own = [p for p in items if p["scope"] == municipio["ibge"]]
        municipio["problems"] = [p["message"] for p in own]
        municipio["status"] = _worst([host_worst] + [p["severity"] for p in own])

    days = [m for m in municipios if m["days_remaining"] is not None]
    soonest = min(days, key=lambda m: m["days_remaining"]) if days else None
    used = sorted(set(m["certificate"] for m in municipios if m["certificate"]))
    version = (info or {}).get("pec_version") or ((pec or {}).get("version") if isinstance(pec, dict) else None)
    situations = [m["rnds_status"] for m in municipios] or ["unverified"]
    return {
        "host": host,
        "status": _worst(p["severity"] for p in items),
        "rnds_status": next(s for s in RNDS_STATUS_PT if s in situations),
        "rnds_enabled": bool(municipios) and all(m["rnds_enabled"] for m in municipios),
        "certificate": ", ".join(used) if used else None,
        "days_remaining": soonest["days_remaining"] if soonest else None,
        "not_after": soonest["not_after"] if soonest else None,
        "expired": bool(soonest and soonest["expired"]),
        "problems": [p["message"] for p in items],
        "problem_details": items,
        "municipios": municipios,
        "pec_version": version,
        "pec_url": (info or {}).get("url"),
        "reachable": reachable,
        "auth": auth_summary,
    }


# --------------------------------------------------------------------------- report


def _host_sort_key(entry):
    return (_text(entry.get("host")).lower(), _text(entry.get("host")))


def summarize(hosts):
    summary = {"hosts_total": len(hosts), "ok": 0, "warning": 0, "error": 0,
               "municipios_total": 0, "municipios_ok": 0, "municipios_warning": 0, "municipios_error": 0,
               "rnds_enabled_hosts": 0, "rnds_enabled_municipios": 0,
               "expiring_30": 0, "expired": 0, "unreachable": 0, "manual_pending_municipios": 0,
               "unverified_municipios": 0}
    for entry in hosts:
        status = entry.get("status") if entry.get("status") in SEVERITY else "error"
        summary[status] += 1
        if entry.get("rnds_enabled"):
            summary["rnds_enabled_hosts"] += 1
        if not entry.get("reachable"):
            summary["unreachable"] += 1
        for municipio in entry.get("municipios") or []:
            summary["municipios_total"] += 1
            mstatus = municipio.get("status") if municipio.get("status") in SEVERITY else "error"
            summary["municipios_" + mstatus] += 1
            if municipio.get("rnds_enabled"):
                summary["rnds_enabled_municipios"] += 1
            if municipio.get("rnds_status") in ("manual_pending", "unverified"):
                summary[municipio["rnds_status"] + "_municipios"] += 1
            days = municipio.get("days_remaining")
            if municipio.get("expired") or (days is not None and days < 0):
                summary["expired"] += 1
            elif days is not None and days < EXPIRING_WINDOW_DAYS:
                summary["expiring_30"] += 1
    return summary


def build_report(entries, now=None):
    """Evaluated host entries -> {"generated_at", "hosts" (sorted by host), "summary"}."""
    now = _utc(now)
    hosts = sorted([dict(e) for e in entries or []], key=_host_sort_key)
    return {"generated_at": iso_utc(now), "hosts": hosts, "summary": summarize(hosts)}


def hosts_at_or_above(report, level):
    """Host entries whose status is at least `level` ('warning' or 'error')."""
    threshold = SEVERITY[level]
    return [h for h in report.get("hosts") or [] if SEVERITY.get(h.get("status"), 2) >= threshold]


# --------------------------------------------------------------------------- rendering


def render_json(report):
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _rows(report):
    """One row per municipality (a host without municipalities gives one row)."""
    for entry in report.get("hosts") or []:
        details = entry.get("problem_details")
        municipios = entry.get("municipios") or []
        if details is None:  # entries built elsewhere: split what we can
            host_problems = [p for p in entry.get("problems") or []
                             if not any(p in (m.get("problems") or []) for m in municipios)]
        else:
            host_problems = [p["message"] for p in details if p.get("scope") == "host"]
        if not municipios:
            yield entry, None, list(host_problems), entry.get("status") or "error"
        for municipio in municipios:
            row_problems = list(host_problems) + list(municipio.get("problems") or [])
            status = municipio.get("status") if municipio.get("status") in SEVERITY else "error"
            yield entry, municipio, row_problems, status


def _sim_nao(value):
    if value is None:
        return ""
    return "sim" if value else "não"


# A spreadsheet may read a cell as a formula when its first visible character is one of these, also
# after leading (Unicode) spaces, line breaks or zero-width characters, and in the full-width/small forms.
_CSV_FORMULA = re.compile("^[\\s\u200b-\u200d\u2060\ufeff]*[=+\\-@\uff1d\uff0b\uff0d\uff20\ufe62\ufe63\ufe66\ufe6b\u2212]")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return _sim_nao(value)
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text[:1] in ("\t", "\r", "\n") or _CSV_FORMULA.match(text):
        text = "'" + text
    return text


CSV_HEADER = [
    "host", "status do host", "PEC acessível", "versão do PEC", "autenticação RNDS",
    "município", "IBGE", "status", "RNDS habilitado", "situação RNDS", "CADSUS habilitado", "certificado",
    "certificado esperado",
    "dias restantes", "vence em", "identificador do solicitante", "problemas",
]


def render_csv(report):
    """CSV for pt-BR spreadsheets: ';', UTF-8 BOM (prefixed to the returned text), dd/mm/aaaa."""
    with_contra = any("contra_chave" in (m or {}) for h in report.get("hosts") or [] for m in h.get("municipios") or [])
    header = list(CSV_HEADER) + (["contra chave"] if with_contra else [])
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    for entry, municipio, problems, status in _rows(report):
        auth = entry.get("auth")
        auth_text = ""
        if isinstance(auth, dict):
            auth_text = "sim" if auth.get("authenticated") else "não"
        municipio = municipio or {}
        row = [
            entry.get("host"), STATUS_PT.get(entry.get("status"), entry.get("status")),
            _sim_nao(entry.get("reachable")), entry.get("pec_version"), auth_text,
            municipio.get("nome"), municipio.get("ibge"), STATUS_PT.get(status, status),
            _sim_nao(municipio.get("rnds_enabled")) if municipio else "",
            RNDS_STATUS_PT.get(municipio.get("rnds_status") if municipio else entry.get("rnds_status"), ""),
            _sim_nao(municipio.get("cadsus_enabled")),
            municipio.get("certificate") if municipio else entry.get("certificate"),
            municipio.get("expected_certificate"),
            municipio.get("days_remaining") if municipio else entry.get("days_remaining"),
            local_date(municipio.get("not_after") if municipio else entry.get("not_after")),
            municipio.get("requester_id"),
            " | ".join(problems),
        ]
        if with_contra:
            row.append(municipio.get("contra_chave"))
        writer.writerow([_csv_cell(v) for v in row])
    return "\ufeff" + buf.getvalue()


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


_CSS = """
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#8a5a00;--warn-bg:#fff3c4;--err:#c4161c;--err-bg:#ffe4e2;
--ink:#1f2328;--muted:#59636e;--line:#d8dee4;--bg:#f6f8fa;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 "DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#0b3d6e;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#cfe0f2}
main{padding:20px 28px 40px;max-width:1600px;margin:0 auto}
section{margin-bottom:22px}
h2{font-size:16px;margin:0 0 10px;color:#0b3d6e}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 130px;background:#fff;border:1px solid var(--line);border-left:6px solid var(--accent);border-radius:8px;padding:10px 14px}
.card .n{font-size:26px;font-weight:700;display:block}
.card .l{color:var(--muted);font-size:12.5px}
.card.ok{border-left-color:var(--ok)} .card.ok .n{color:var(--ok)}
.card.warning{border-left-color:#d4a017} .card.warning .n{color:var(--warn)}
.card.error{border-left-color:var(--err)} .card.error .n{color:var(--err)}
.panel{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.chart svg{width:100%;max-width:980px;height:auto;display:block}
.note{color:var(--muted);font-size:12.5px;margin:6px 0 0}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin-bottom:10px}
.filters input{flex:1 1 320px;padding:7px 10px;border:1px solid #b6c0ca;border-radius:6px;font:inherit}
.filters select{padding:7px 10px;border:1px solid #b6c0ca;border-radius:6px;font:inherit;background:#fff}
.filters .count{color:var(--muted)}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);font-size:13px}
th,td{padding:7px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef2f6;position:sticky;top:0;cursor:pointer;user-select:none;white-space:nowrap}
th:hover{background:#e1e8ef}
th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px}
th[aria-sort=descending]::after{content:" \\25BC";font-size:10px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.row-error td:first-child{box-shadow:inset 4px 0 0 var(--err)}
tr.row-warning td:first-child{box-shadow:inset 4px 0 0 #d4a017}
tr.row-ok td:first-child{box-shadow:inset 4px 0 0 var(--ok)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;white-space:nowrap}
.badge.ok{background:var(--ok-bg);color:var(--ok)}
.badge.warning{background:var(--warn-bg);color:var(--warn)}
.badge.error{background:var(--err-bg);color:var(--err)}
.yes{color:var(--ok);font-weight:600} .no{color:var(--err);font-weight:600} .unk{color:var(--muted)} td.warn{color:var(--warn);font-weight:600}
.days-expired{color:var(--err);font-weight:700} .days-soon{color:var(--warn);font-weight:700}
ul.problems{margin:0;padding-left:16px;max-width:640px}
ul.problems li{margin:0 0 3px}
ul.problems li.error::marker{color:var(--err)} ul.problems li.warning::marker{color:#d4a017}
.sev{font-weight:600} .sev.error{color:var(--err)} .sev.warning{color:var(--warn)}
.host{font-weight:600;min-width:120px;overflow-wrap:anywhere}
.cert{white-space:nowrap}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
footer{color:var(--muted);font-size:12px;padding:0 28px 24px;max-width:1600px;margin:0 auto}
"""

_JS = """
(function () {
  'use strict';
  var table = document.getElementById('rnds-tabela');
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var text = document.getElementById('filtro-texto');
  var status = document.getElementById('filtro-status');
  var counter = document.getElementById('contador');
  rows.forEach(function (row, i) { row.setAttribute('data-index', String(i)); });

  function value(row, col, type) {
    var cell = row.cells[col];
    var raw = cell.getAttribute('data-sort');
    if (raw === null) { raw = cell.textContent.replace(/\\s+/g, ' ').trim(); }
    if (type === 'num') {
      var n = parseFloat(raw);
      return isNaN(n) ? null : n;
    }
    return raw.toLocaleLowerCase('pt-BR');
  }

  function sortBy(col, dir) {
    var type = headers[col].getAttribute('data-type') || 'text';
    var sign = dir === 'descending' ? -1 : 1;
    var sorted = rows.slice().sort(function (a, b) {
      var va = value(a, col, type), vb = value(b, col, type), r = 0;
      if (va === null && vb !== null) { return 1; }
      if (vb === null && va !== null) { return -1; }
      if (va !== null && vb !== null) {
        r = type === 'num' ? va - vb : va.localeCompare(vb, 'pt-BR', {numeric: true});
      }
      if (r === 0) { return Number(a.getAttribute('data-index')) - Number(b.getAttribute('data-index')); }
      return r * sign;
    });
    sorted.forEach(function (row, i) { tbody.appendChild(row); row.setAttribute('data-index', String(i)); });
    rows = sorted;
    headers.forEach(function (th, i) {
      if (i === col) { th.setAttribute('aria-sort', dir); } else { th.removeAttribute('aria-sort'); }
    });
    table.setAttribute('data-sorted-by', headers[col].getAttribute('data-key') + ':' + dir);
  }

  function applyFilter() {
    var needle = text.value.trim().toLocaleLowerCase('pt-BR');
    var wanted = status.value;
    var shown = 0;
    rows.forEach(function (row) {
      var ok = (!wanted || row.getAttribute('data-status') === wanted) &&
               (!needle || row.textContent.toLocaleLowerCase('pt-BR').indexOf(needle) !== -1);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    counter.textContent = shown + ' de ' + rows.length + ' linha(s) exibida(s)';
    table.setAttribute('data-visible-rows', String(shown));
  }

  headers.forEach(function (th, col) {
    th.tabIndex = 0;
    th.title = 'Clique para ordenar';
    function toggle() {
      sortBy(col, th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending');
    }
    th.addEventListener('click', toggle);
    th.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(); }
    });
  });
  text.addEventListener('input', applyFilter);
  status.addEventListener('change', applyFilter);

  // Initial view: worst status first, then the certificate that expires soonest.
  var byKey = {};
  headers.forEach(function (th, i) { byKey[th.getAttribute('data-key')] = i; });
  sortBy(byKey.dias, 'ascending');
  sortBy(byKey.status, 'descending');

  // Filters can be preset in the address: relatorio.html#status=error&q=texto
  var params = {};
  (window.location.hash || '').replace(/^#/, '').split('&').forEach(function (pair) {
    var kv = pair.split('=');
    if (kv[0]) { try { params[kv[0]] = decodeURIComponent((kv[1] || '').replace(/\\+/g, ' ')); } catch (e) { params[kv[0]] = ''; } }
  });
  if (params.q) { text.value = params.q; }
  if (params.status && status.querySelector('option[value="' + params.status.replace(/[^a-z]/g, '') + '"]')) {
    status.value = params.status.replace(/[^a-z]/g, '');
  }
  applyFilter();
  document.documentElement.setAttribute('data-js-ready', '1');
})();
"""


def _certificate_cell(in_use, expected):
    if in_use and (not expected or in_use == expected):
        return _e(in_use)
    if in_use:
        return '%s<br><span class="unk">esperado: %s</span>' % (_e(in_use), _e(expected))
    if expected:
        return '<span class="unk">nenhum em uso<br>esperado: %s</span>' % _e(expected)
    return '<span class="unk">—</span>'


def _rnds_cell(value, situation):
    if situation in ("manual_pending", "unverified"):
        return '<td class="%s" data-sort="">%s</td>' % ("warn" if situation == "manual_pending" else "unk",
                                                        _e(RNDS_STATUS_PT[situation]))
    return _bool_cell(value)


def _bool_cell(value, expected=True):
    if value is None:
        return '<td class="unk" data-sort="">—</td>'
    if value:
        return '<td class="yes" data-sort="1">sim</td>'
    if not expected:
        return '<td class="unk" data-sort="0" title="não solicitado no inventário">não</td>'
    return '<td class="no" data-sort="0">não</td>'


def _chart_buckets(report, now):
    """Expired + 13 weekly buckets over the next 90 days (municipalities, by days remaining)."""
    weeks = int(math.ceil(CHART_DAYS / 7.0))
    buckets = [{"label": "vencidos", "count": 0, "names": [], "kind": "expired"}]
    today = now.astimezone(_LOCAL_TZ).date()
    for week in range(weeks):
        start = today + datetime.timedelta(days=7 * week)
        end = start + datetime.timedelta(days=6)
        buckets.append({"label": start.strftime("%d/%m"), "range": "%s a %s" % (start.strftime("%d/%m"), end.strftime("%d/%m/%Y")),
                        "count": 0, "names": [], "kind": "soon" if 7 * week < EXPIRING_WINDOW_DAYS else "later"})
    beyond = unknown = 0
    for entry, municipio, dummy, dummy2 in _rows(report):
        if municipio is None:
            continue
        days = municipio.get("days_remaining")
        name = "%s — %s" % (entry.get("host"), municipio.get("nome") or municipio.get("ibge"))
        if days is None:
            unknown += 1
        elif municipio.get("expired") or days < 0:
            buckets[0]["count"] += 1
            buckets[0]["names"].append(name)
        elif days < 7 * weeks:
            bucket = buckets[1 + days // 7]
            bucket["count"] += 1
            bucket["names"].append(name)
        else:
            beyond += 1
    return buckets, beyond, unknown


def _chart_svg(report, now):
    buckets, beyond, unknown = _chart_buckets(report, now)
    width, height = 960, 250
    left, right, top, bottom = 56, 16, 24, 62
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([b["count"] for b in buckets] + [1])
    step = max(1, int(math.ceil(top_value / 5.0)))
    top_value = step * int(math.ceil(top_value / float(step)))
    slot = plot_w / float(len(buckets))
    bar_w = slot * 0.62
    colour = {"expired": "#c4161c", "soon": "#d4a017", "later": "#2f7dc9"}
    parts = [
        '<svg viewBox="0 0 %d %d" role="img" aria-labelledby="grafico-titulo grafico-desc">'
        % (width, height),
        '<title id="grafico-titulo">Vencimento dos certificados nos próximos %d dias</title>' % CHART_DAYS,
        '<desc id="grafico-desc">Barras por semana com o número de municípios cujo certificado vence naquela '
        'semana; a primeira barra conta os certificados já vencidos.</desc>',
        '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (width, height),
    ]
    for tick in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * tick / float(top_value)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e8ee"/>' % (left, y, width - right, y))
        parts.append('<text x="%d" y="%.1f" font-size="12" text-anchor="end" fill="#59636e">%d</text>' % (left - 8, y + 4, tick))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#8c959f"/>' % (left, top + plot_h, width - right, top + plot_h))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#8c959f"/>' % (left, top, left, top + plot_h))
    parts.append('<text x="16" y="%.1f" font-size="12" fill="#59636e" text-anchor="middle" transform="rotate(-90 16 %.1f)">'
                 'municípios</text>' % (top + plot_h / 2.0, top + plot_h / 2.0))
    for index, bucket in enumerate(buckets):
        x = left + slot * index + (slot - bar_w) / 2.0
        h = plot_h * bucket["count"] / float(top_value)
        y = top + plot_h - h
        names = bucket["names"][:30]
        more = len(bucket["names"]) - len(names)
        tip = "%s: %d município(s)" % ("Já vencidos" if bucket["kind"] == "expired" else "Semana de " + bucket["range"], bucket["count"])
        if names:
            tip += "\n" + "\n".join(names) + ("\n… e mais %d" % more if more > 0 else "")
        parts.append('<g><title>%s</title>' % _e(tip))
        parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3" fill="%s"/>'
                     % (x, y, bar_w, max(h, 0.0), colour[bucket["kind"]]))
        if bucket["count"]:
            parts.append('<text x="%.1f" y="%.1f" font-size="12" font-weight="bold" text-anchor="middle" fill="#1f2328">%d</text>'
                         % (x + bar_w / 2.0, y - 5, bucket["count"]))
        parts.append('<text x="%.1f" y="%d" font-size="11.5" text-anchor="middle" fill="#1f2328">%s</text>'
                     % (x + bar_w / 2.0, top + plot_h + 17, _e(bucket["label"])))
        parts.append('</g>')
    parts.append('<text x="%.1f" y="%d" font-size="12" text-anchor="middle" fill="#59636e">'
                 'semana que começa em (dd/mm) — a primeira barra são os certificados já vencidos</text>'
                 % (left + plot_w / 2.0, height - 14))
    parts.append('</svg>')
    legend = ('<p class="note">Vermelho: já vencidos. Amarelo: vencem em menos de %d dias. Azul: vencem entre %d e %d dias. '
              'Passe o mouse sobre uma barra para ver os municípios. %d município(s) com vencimento depois de %d dias; '
              '%d sem data de vencimento conhecida.</p>'
              % (EXPIRING_WINDOW_DAYS, EXPIRING_WINDOW_DAYS, CHART_DAYS, beyond, CHART_DAYS, unknown))
    return "\n".join(parts) + legend


def render_html(report):
    """One self-contained pt-BR HTML page (inline CSS/JS/SVG, no external reference)."""
    now = parse_datetime(report.get("generated_at")) or _utc(None)
    summary = report.get("summary") or summarize(report.get("hosts") or [])
    out = []
    w = out.append
    w('<!DOCTYPE html>\n<html lang="pt-BR">\n<head>\n<meta charset="utf-8">')
    w('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
      'script-src \'unsafe-inline\'; img-src data:">')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">')
    w('<meta name="referrer" content="no-referrer">')
    w('<title>Relatório RNDS — PEC e-SUS APS — %s</title>' % _e(local_datetime(now)))
    w('<style>%s</style>\n</head>\n<body>' % _CSS)
    w('<header><h1>Relatório RNDS — PEC e-SUS APS</h1>')
    w('<p>Gerado em <time datetime="%s">%s</time> (horário de Brasília) · %d servidor(es), %d município(s)</p></header>'
      % (_e(report.get("generated_at")), _e(local_datetime(now)), summary["hosts_total"], summary["municipios_total"]))
    w('<main>\n<section aria-label="Resumo"><h2>Resumo</h2><div class="cards">')
    cards = [
        ("", summary["hosts_total"], "servidores (hosts)"),
        ("ok", summary["ok"], "hosts ok"),
        ("warning", summary["warning"], "hosts com aviso"),
        ("error", summary["error"], "hosts com erro"),
        ("ok" if summary["rnds_enabled_municipios"] == summary["municipios_total"] else "warning",
         "%d/%d" % (summary["rnds_enabled_municipios"], summary["municipios_total"]), "municípios habilitados"),
        ("warning" if summary["expiring_30"] else "ok", summary["expiring_30"],
         "vencendo em %d dias" % EXPIRING_WINDOW_DAYS),
        ("error" if summary["expired"] else "ok", summary["expired"], "certificados vencidos"),
        ("error" if summary["unreachable"] else "ok", summary["unreachable"], "PEC inacessível"),
        ("warning" if summary.get("manual_pending_municipios") else "ok", summary.get("manual_pending_municipios", 0),
         "habilitação manual pendente"),
        ("warning" if summary.get("unverified_municipios") else "ok", summary.get("unverified_municipios", 0),
         "municípios não verificados"),
    ]
    for cls, number, label in cards:
        w('<div class="card %s"><span class="n">%s</span><span class="l">%s</span></div>' % (cls, _e(number), _e(label)))
    w('</div></section>')
    w('<section class="chart panel" aria-label="Vencimentos"><h2>Vencimento dos certificados nos próximos %d dias</h2>' % CHART_DAYS)
    w(_chart_svg(report, now))
    w('</section>')
    w('<section aria-label="Detalhes"><h2>Servidores e municípios</h2>')
    w('<div class="filters"><label for="filtro-texto" class="sr">Filtrar:</label>'
      '<input id="filtro-texto" type="search" placeholder="Filtrar por host, município, IBGE, certificado ou problema" autocomplete="off">'
      '<label for="filtro-status">Status:</label><select id="filtro-status">'
      '<option value="">todos</option><option value="error">erro</option>'
      '<option value="warning">aviso</option><option value="ok">ok</option></select>'
      '<span class="count" id="contador"></span></div>')
    columns = [("host", "host", "text"), ("municipio", "município", "text"), ("ibge", "IBGE", "num"),
               ("status", "status", "num"), ("rnds", "RNDS", "num"), ("cadsus", "CADSUS", "num"),
               ("certificado", "certificado", "text"), ("dias", "dias restantes", "num"),
               ("vence", "vence em", "text"), ("problemas", "problemas", "text")]
    w('<table id="rnds-tabela"><thead><tr>%s</tr></thead><tbody>'
      % "".join('<th scope="col" data-key="%s" data-type="%s">%s</th>' % (k, t, _e(label)) for k, label, t in columns))
    rows = 0
    for entry, municipio, problems, status in _rows(report):
        rows += 1
        municipio = municipio or {}
        details = {}
        for p in entry.get("problem_details") or []:
            details.setdefault(p.get("message"), p.get("severity"))
        days = municipio.get("days_remaining") if municipio else entry.get("days_remaining")
        expired = municipio.get("expired") if municipio else entry.get("expired")
        not_after = municipio.get("not_after") if municipio else entry.get("not_after")
        certificate = municipio.get("certificate") if municipio else entry.get("certificate")
        days_cls = "num"
        if days is not None and (expired or days < 0):
            days_cls += " days-expired"
        elif days is not None and days < EXPIRING_WINDOW_DAYS:
            days_cls += " days-soon"
        cells = [
            '<td class="host">%s</td>' % _e(entry.get("host")),
            '<td>%s</td>' % (_e(municipio.get("nome")) or '<span class="unk">—</span>'),
            '<td data-sort="%s">%s</td>' % (_e(municipio.get("ibge")), _e(municipio.get("ibge")) or '<span class="unk">—</span>'),
            '<td data-sort="%d"><span class="badge %s">%s</span></td>' % (SEVERITY.get(status, 2), _e(status), _e(STATUS_PT.get(status, status))),
            _rnds_cell(municipio.get("rnds_enabled") if municipio else None, municipio.get("rnds_status")),
            _bool_cell(municipio.get("cadsus_enabled"), "cadsus" in (municipio.get("services") or [])),
            '<td class="cert">%s</td>' % _certificate_cell(certificate, municipio.get("expected_certificate")),
            '<td class="%s" data-sort="%s">%s</td>' % (days_cls, "" if days is None else int(days), "—" if days is None else int(days)),
            '<td data-sort="%s">%s</td>' % (_e(not_after), _e(local_date(not_after)) or "—"),
        ]
        if problems:
            items = []
            for message in problems:
                severity = details.get(message) or "error"
                items.append('<li class="%s"><span class="sev %s">%s:</span> %s</li>'
                             % (_e(severity), _e(severity), _e(STATUS_PT.get(severity, severity)), _e(message)))
            cells.append('<td><ul class="problems">%s</ul></td>' % "".join(items))
        else:
            cells.append('<td class="unk">nenhum</td>')
        w('<tr class="row-%s" data-status="%s">%s</tr>' % (_e(status), _e(status), "".join(cells)))
    w('</tbody></table>')
    if not rows:
        w('<p class="note">Nenhum host no relatório.</p>')
    w('</section>\n</main>')
    w('<footer>Status por linha: <b>erro</b> impede ou põe em risco o envio à RNDS e precisa de ação agora; <b>aviso</b> '
      'deve ser corrigido em breve; <b>ok</b> nada a fazer. O status do município inclui os problemas do servidor '
      '(pasta chaves compartilhada, PEC inacessível). Cada mensagem diz o que está errado e o que fazer; a lista completa '
      'está em docs/report.md da coleção esus.rnds.</footer>')
    w('<script>%s</script>\n</body>\n</html>\n' % _JS)
    return "\n".join(out)
