# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""The municipalities of one PEC host, read from the collection's inventory model (controller side).

One entry per municipality of the host: ``rnds_municipios`` items, where every missing key falls back
to the host-level ``rnds_*`` variable. Used by the filter ``esus.rnds.municipality_list`` and by the
action plugins that read the inventory themselves (``from_inventory``, see ``_pec_host.py``). The
messages name inventory variables on purpose: this is the code that reads them.
"""

from __future__ import annotations

import posixpath


class MunicipalityError(ValueError):
    """The inventory cannot be read as municipalities (pt-BR message, no secret in it)."""


# public per-municipality variable -> key of the normalised entry
KEYS = {
    "rnds_municipio_ibge": "ibge",
    "rnds_municipio_nome": "nome",
    "rnds_requester_id": "requester_id",
    "rnds_certificate_src": "certificate_src",
    "rnds_certificate_name": "certificate_name",
    "rnds_certificate_password": "certificate_password",
    "rnds_pec_admin_user": "admin_user",
    "rnds_pec_admin_password": "admin_password",
    "rnds_services": "services",
    "rnds_expected_cnpj": "expected_cnpj",
    "rnds_inventory_origin": "origin",
}

PKCS12_SUFFIXES = (".pfx", ".p12")
CERTIFICATE_ONLY_SUFFIXES = (".cer", ".crt", ".der", ".pem", ".p7b", ".p7c")

# What each required variable is, and where it usually lives: (what, in the spreadsheet's inventory
# (format with csv, line, secrets), in an inventory written by hand).
_WHERE = {
    "rnds_pec_admin_user": (
        "CPF do Administrador Municipal",
        "em {secrets}, cifrado com ansible-vault",
        "no inventário (host_vars/{host}.yml ou o item do município em rnds_municipios)"),
    "rnds_pec_admin_password": (
        "senha do Administrador Municipal",
        "em {secrets}, cifrado com ansible-vault",
        "no arquivo do vault do inventário (por exemplo group_vars/all/vault.yml, cifrado com ansible-vault)"),
    "rnds_certificate_password": (
        "senha do arquivo .pfx/.p12",
        "em {secrets}, cifrado com ansible-vault",
        "no arquivo do vault do inventário (por exemplo group_vars/all/vault.yml, cifrado com ansible-vault)"),
    "rnds_certificate_src": (
        "arquivo .pfx/.p12 no controlador",
        "na coluna certificado de {csv}, linha {line}",
        "no inventário (host_vars/{host}.yml ou o item do município em rnds_municipios)"),
    "rnds_certificate_name": (
        "nome do arquivo na pasta chaves",
        "na coluna certificado de {csv}, linha {line}",
        "no inventário (rnds_certificate_src ou rnds_certificate_name)"),
    "rnds_requester_id": (
        "identificador do solicitante do e-Gestor AB, \"Credenciais geradas\"",
        "na coluna identificador de {csv}, linha {line}",
        "no inventário (host_vars/{host}.yml ou o item do município em rnds_municipios)"),
}


def _basename(path):
    return posixpath.basename(str(path).replace("\\", "/")) if path else ""


def _is_missing(key, value):
    if value is None:
        return True
    # An empty password is a valid PKCS#12 password; an empty admin password or path is not.
    return key != "certificate_password" and str(value).strip() == ""


def _join(items):
    return items[0] if len(items) == 1 else "%s e %s" % (", ".join(items[:-1]), items[-1])


def _label(entry, host_name):
    where = "%s (IBGE %s)" % (entry["nome"], entry["ibge"]) if entry["nome"] and entry["ibge"] else (
        "IBGE %s" % entry["ibge"] if entry["ibge"] else "")
    return ", ".join(part for part in (host_name or "", where) if part) or "este servidor"


def _problem(entry, require, host_name):
    """(missing public names, one pt-BR message or '') for one normalised entry."""
    origin = entry.get("origin") if isinstance(entry.get("origin"), dict) else {}
    missing = []
    for public in require:
        key = KEYS.get(public)
        if key is None:
            raise MunicipalityError("require: %s não é uma variável por município (aceitas: %s)"
                                    % (public, ", ".join(sorted(KEYS))))
        if public == "rnds_certificate_password" and not entry.get("certificate_src") and not any(
                r in require for r in ("rnds_certificate_src", "rnds_certificate_name")):
            continue  # the password is needed only with a file to open (the audit of a file the PEC has)
        if _is_missing(key, entry.get(key)):
            missing.append(public)
    if "rnds_certificate_src" in missing and "rnds_certificate_name" in missing:
        missing.remove("rnds_certificate_name")
    groups = []  # [(where, [what...])] in the order of `require`
    for public in missing:
        what, csv_where, hand_where = _WHERE.get(public, (public, "no inventário", "no inventário"))
        secrets = origin.get("secrets") or ""
        if origin.get("csv") and (secrets or "{secrets}" not in csv_where):
            if secrets and not origin.get("secrets_found", True):
                csv_where = csv_where.replace(", cifrado com ansible-vault", "")
                secrets = "%s, arquivo que não existe (crie-o com ansible-vault create %s)" % (secrets, secrets)
            where = csv_where.format(csv=origin["csv"], line=origin.get("line") or "?", secrets=secrets)
        else:
            where = hand_where.format(host=host_name or "<host>")
        item = "%s (%s)" % (public, what)
        for known, items in groups:
            if known == where:
                items.append(item)
                break
        else:
            groups.append((where, [item]))
    parts = ["%s, %s" % (_join(items), where) for where, items in groups]
    messages = []
    if parts:
        messages.append("%s: %s %s." % (
            _label(entry, host_name), "falta" if len(missing) == 1 else "faltam", "; ".join(parts)))
    if any(public in require for public in ("rnds_certificate_src", "rnds_certificate_name")):
        name = str(entry.get("certificate_name") or "")
        lower = name.lower()
        if name and lower.endswith(CERTIFICATE_ONLY_SUFFIXES):
            messages.append(
                "%s: %s é um certificado sem a chave privada (%s): o PEC precisa do arquivo .pfx/.p12 com a chave "
                "privada e a senha, recebido da autoridade certificadora ou baixado do e-Gestor AB; troque o arquivo "
                "(%s)." % (_label(entry, host_name), name, "." + name.rsplit(".", 1)[-1],
                           "coluna certificado de %s, linha %s" % (origin["csv"], origin.get("line") or "?")
                           if origin.get("csv") else "rnds_certificate_src"))
        elif name and not lower.endswith(PKCS12_SUFFIXES):
            messages.append(
                "%s: o nome de arquivo %s não termina em .pfx ou .p12, e o PEC só lista esses arquivos na pasta "
                "chaves; use o nome do arquivo .pfx/.p12 (%s)." % (
                    _label(entry, host_name), name,
                    "coluna certificado de %s, linha %s" % (origin["csv"], origin.get("line") or "?")
                    if origin.get("csv") else "rnds_certificate_name"))
    return missing, " ".join(messages)


def municipality_list(municipios, host, require=None, host_name=None):
    if municipios is None:
        municipios = []
    if not isinstance(municipios, (list, tuple)):
        raise MunicipalityError("rnds_municipios deve ser uma lista de dicionários (um por município)")
    host = host or {}
    entries = []
    for index, item in enumerate(municipios or [{}]):
        if not isinstance(item, dict):
            raise MunicipalityError(
                "rnds_municipios[%d] deve ser um dicionário com as chaves rnds_municipio_ibge, "
                "rnds_requester_id, rnds_certificate_src ..." % index
            )
        unknown = sorted(k for k in item if k not in KEYS)
        if unknown:
            raise MunicipalityError(
                "rnds_municipios[%d] tem chaves desconhecidas: %s (aceitas: %s)"
                % (index, ", ".join(unknown), ", ".join(sorted(KEYS)))
            )
        entry = {}
        for public, key in KEYS.items():
            value = item.get(public)
            if value is None or value == "":
                value = host.get(public)
            entry[key] = value
        entry["ibge"] = str(entry["ibge"] or "")
        entry["nome"] = entry["nome"] or ""
        entry["requester_id"] = str(entry["requester_id"] or "")
        entry["certificate_name"] = entry["certificate_name"] or _basename(entry["certificate_src"])
        entry["services"] = list(entry["services"] or ["rnds"])
        entry["origin"] = dict(entry["origin"]) if isinstance(entry["origin"], dict) else None
        entries.append(entry)
    seen = set()
    for entry in entries:
        if len(entries) > 1 and not entry["ibge"]:
            raise MunicipalityError(
                "instalação multimunicipal: cada item de rnds_municipios precisa de rnds_municipio_ibge"
            )
        if entry["ibge"] and entry["ibge"] in seen:
            raise MunicipalityError("o município IBGE %s aparece duas vezes em rnds_municipios" % entry["ibge"])
        seen.add(entry["ibge"])
    if require is not None:
        if isinstance(require, str) or not isinstance(require, (list, tuple)):
            raise MunicipalityError("require deve ser uma lista de nomes de variáveis")
        require = [str(r) for r in require]
        for entry in entries:
            entry["missing"], entry["problem"] = _problem(entry, require, host_name)
        if "rnds_certificate_src" in require:
            _check_same_name(entries, host_name)
    return entries


def _check_same_name(entries, host_name):
    """One file name in chaves must be one certificate: same source file and same password."""
    first = {}
    for entry in entries:
        name = entry.get("certificate_name")
        if not name or not entry.get("certificate_src"):
            continue
        other = first.setdefault(name, entry)
        if other is entry:
            continue
        if other["certificate_src"] != entry["certificate_src"] or other["certificate_password"] != entry["certificate_password"]:
            message = (
                "%s: o arquivo %s da pasta chaves também é o de %s, mas com outro arquivo de origem ou outra senha; "
                "use nomes diferentes (rnds_certificate_name) para certificados diferentes."
                % (_label(entry, host_name), name, _label(other, None)))
            entry["problem"] = " ".join(p for p in (entry["problem"], message) if p)


ADMIN_KEYS = ("rnds_pec_admin_user", "rnds_pec_admin_password")


def pec_logins(entries, certificates=False, fingerprints=None):
    out = []
    for entry in entries or []:
        if any(key in (entry.get("missing") or []) for key in ADMIN_KEYS):
            continue  # never a login without a user or password: it would count towards the account lock
        item = {"ibge": entry["ibge"] or None, "username": entry["admin_user"], "password": entry["admin_password"]}
        if certificates:
            name = entry.get("certificate_name") or None
            item.update(
                services=entry.get("services") or ["rnds"],
                certificate=name,
                certificate_password=entry.get("certificate_password"),
                requester_id=entry.get("requester_id") or None,
                certificate_fingerprint=(fingerprints or {}).get(name),
            )
        out.append(item)
    return out


# Keys of an entry that hold no secret (what the audit hands to the report).
PUBLIC_KEYS = ("ibge", "nome", "requester_id", "certificate_name", "services", "expected_cnpj", "origin", "missing",
               "problem")


def public_entry(entry):
    """The entry without its passwords, CPF and source path (safe to return from a task)."""
    return dict((key, entry.get(key)) for key in PUBLIC_KEYS if key in entry)


def certificate_label(entry):
    """File name of the entry's certificate plus, for a spreadsheet inventory, where it comes from."""
    name = entry.get("certificate_name") or ""
    origin = entry.get("origin") if isinstance(entry.get("origin"), dict) else {}
    if origin.get("csv"):
        return "%s (%s, linha %s)" % (name, origin["csv"], origin.get("line") or "?")
    return name


def problems(entries):
    """Every inventory problem of a host's entries (one pt-BR message per municipality that has one)."""
    return [entry["problem"] for entry in entries if entry.get("problem")]


def limit_entries(entries, limit):
    """Only the entries whose IBGE is in ``limit`` (a list, or a comma-separated string); all when empty."""
    if isinstance(limit, str):
        limit = limit.split(",")
    wanted = [str(code).strip() for code in (limit or []) if str(code).strip()]
    if not wanted:
        return list(entries)
    return [entry for entry in entries if entry.get("ibge") in wanted]
