# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.municipality_list: one normalised entry per municipality of a host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: municipality_list
short_description: Normalise the municipalities served by one PEC host
version_added: 0.1.0
description:
  - Takes the host's C(rnds_municipios) list (multimunicipal installations) and the host-level
    C(rnds_*) variables, and returns one entry per municipality in which every missing
    per-municipality key falls back to the host-level value.
  - A host without C(rnds_municipios) yields a single entry built from the host-level variables.
  - Used by the roles of this collection so they all read the inventory the same way.
options:
  _input:
    description: The C(rnds_municipios) list (may be empty or null).
    type: list
    elements: dict
    required: true
  host:
    description:
      - Host-level values, keyed by the public variable names, usually C(hostvars[inventory_hostname]) (C(rnds_municipio_ibge),
        C(rnds_requester_id), C(rnds_certificate_src), C(rnds_certificate_name),
        C(rnds_certificate_password), C(rnds_pec_admin_user), C(rnds_pec_admin_password),
        C(rnds_services), C(rnds_expected_cnpj), C(rnds_inventory_origin)).
    type: dict
    required: true
  require:
    description:
      - Public variable names every municipality must have (for example C(rnds_pec_admin_user),
        C(rnds_pec_admin_password), C(rnds_certificate_src), C(rnds_certificate_password),
        C(rnds_requester_id)). A value that is undefined, null or empty is missing; for
        C(rnds_certificate_password) only undefined or null (an empty password is a valid PKCS#12 password), and only
        when there is a certificate file to open.
      - Each entry then gets C(missing), the list of missing names, and C(problem), one pt-BR message
        that names every missing variable of that municipality and where it usually lives (the CSV
        column and line, C(secrets/<ibge>.yml), the vault file), or an empty string.
      - The check also refuses a certificate file name that is not C(.pfx)/C(.p12) (a C(.cer) is a
        certificate without its private key).
      - Nothing is read from the hosts; the check costs no connection.
    type: list
    elements: str
  host_name:
    description: Inventory name of the host, used in the messages of O(require).
    type: str
"""

EXAMPLES = r"""
- name: Check the inventory of this host before anything else (one task, no connection)
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' ') }}"
    quiet: true
  vars:
    __problems: "{{ rnds_municipios | default([]) | esus.rnds.municipality_list(hostvars[inventory_hostname],
      require=['rnds_pec_admin_user', 'rnds_pec_admin_password'], host_name=inventory_hostname)
      | map(attribute='problem') | select | list }}"

- name: Show which municipalities a host serves (no secrets printed)
  ansible.builtin.debug:
    msg: "{{ rnds_municipios | default([]) | esus.rnds.municipality_list(hostvars[inventory_hostname]) | map(attribute='ibge') }}"
"""

RETURN = r"""
_value:
  description:
    - One dict per municipality with the keys C(ibge), C(nome), C(requester_id),
      C(certificate_src), C(certificate_name), C(certificate_password), C(admin_user),
      C(admin_password), C(services), C(expected_cnpj), C(origin) (where the municipality comes from,
      set by the P(esus.rnds.municipios#inventory) inventory plugin, else null) and, with O(require),
      C(missing) and C(problem).
  type: list
  elements: dict
"""

import posixpath

from ansible.errors import AnsibleFilterError

# public per-municipality variable -> key of the normalised entry
_KEYS = {
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
        key = _KEYS.get(public)
        if key is None:
            raise AnsibleFilterError("require: %s não é uma variável por município (aceitas: %s)"
                                     % (public, ", ".join(sorted(_KEYS))))
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
        raise AnsibleFilterError("rnds_municipios deve ser uma lista de dicionários (um por município)")
    host = host or {}
    entries = []
    for index, item in enumerate(municipios or [{}]):
        if not isinstance(item, dict):
            raise AnsibleFilterError(
                "rnds_municipios[%d] deve ser um dicionário com as chaves rnds_municipio_ibge, "
                "rnds_requester_id, rnds_certificate_src ..." % index
            )
        unknown = sorted(k for k in item if k not in _KEYS)
        if unknown:
            raise AnsibleFilterError(
                "rnds_municipios[%d] tem chaves desconhecidas: %s (aceitas: %s)"
                % (index, ", ".join(unknown), ", ".join(sorted(_KEYS)))
            )
        entry = {}
        for public, key in _KEYS.items():
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
            raise AnsibleFilterError(
                "instalação multimunicipal: cada item de rnds_municipios precisa de rnds_municipio_ibge"
            )
        if entry["ibge"] and entry["ibge"] in seen:
            raise AnsibleFilterError("o município IBGE %s aparece duas vezes em rnds_municipios" % entry["ibge"])
        seen.add(entry["ibge"])
    if require is not None:
        if isinstance(require, str) or not isinstance(require, (list, tuple)):
            raise AnsibleFilterError("require deve ser uma lista de nomes de variáveis")
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


class FilterModule(object):
    def filters(self):
        return {"municipality_list": municipality_list}
