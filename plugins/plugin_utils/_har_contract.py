# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): build a PEC API contract from a HAR capture and write it.

:func:`build_contract` places the captured operations (``_har_guess``), templates their
variables, takes from a base contract whatever the capture lacks and says so in a report;
:func:`render` writes the contract as commented YAML. The caller checks the result with
``_har_secrets.find_leaks`` before writing it. Controller only.
"""

from __future__ import annotations

import json
import re

import yaml

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import (
    CONTRACT_FORMAT, ContractError, FILE_KEYS, STATE_KEYS, get_path, operation_name, validate_contract,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._har import HarError, collapse, graphql_calls, is_session
from ansible_collections.esus.rnds.plugins.plugin_utils._har_guess import (
    access_from_sessao, classify_mutation, classify_root, error_rules, guess_fields, known_values, template_variables,
    value_paths,
)

_GENERATED_LINE_RE = re.compile(r"^# Gerado em: .*$", re.MULTILINE)

HEURISTICS = (
    "Login, Logout, Sessao e SelecionarAcesso (pelo nome da operação ou pelo campo raiz) são da sessão, já estão "
    "no código e nunca são copiados; a resposta de Sessao só serve para achar o acesso de Administrador Municipal.",
    "mutação cujas variáveis têm uma chave de senha (senha/password/pass) e um nome de arquivo .pfx/.p12 -> enable.",
    "mutação cujo nome (ou campo raiz) contém desabilit/disable/remov -> disable.",
    "consulta cuja resposta tem uma lista de objetos com um nome .pfx/.p12 -> list_files (uma lista por serviço, "
    "com RNDS/CADSUS nos itens, não é representável e fica em unmapped).",
    "consulta cuja resposta tem um texto no formato da contra-chave (8 grupos de 4 [0-9A-Za-z] com '-') -> "
    "contra_chave (result aponta para esse texto).",
    "consulta cuja resposta tem um nome .pfx/.p12 ou uma lista de serviços (RNDS/CADSUS) -> read_state; com "
    "resposta vazia (null), um nome com certificad/rnds/habilitac também -> read_state, sem fields.",
    "consulta cuja resposta tem versao/version com um número de versão -> version.",
    "Cada campo raiz de uma consulta é examinado à parte: um só documento pode servir a várias operações.",
    "fields pelos valores: .pfx/.p12 -> certificate/name; lista de RNDS/CADSUS -> services; o identificador "
    "informado ou visto em Habilitar -> requester_id; datas ISO e hashes de 64 hex pelos nomes das chaves "
    "(habilit -> enabled_at; valid/venc/expir -> not_after; modific/alterad -> modified; fingerprint/impress -> "
    "fingerprint_sha256; sha/hash -> file_sha256/sha256; tamanho/size -> size). Uma resposta de estado com "
    "valores null (lida antes do Habilitar) usa o caminho que outra operação de estado mostrou para a mesma chave.",
    "variables: chave de senha -> $password; texto .pfx/.p12 (ou o certificate informado) -> $certificate; chave "
    "identificador/solicitante (ou o requester_id informado) -> $requester_id; lista de RNDS/CADSUS -> $services; "
    "CPF, tokens e cookies são retirados; outros valores fixos ficam e são listados em literals.",
    "Operação sem os mínimos (list_files: name; read_state: certificate e services; enable/disable: algum campo) "
    "vem do contrato base, e o relatório diz por quê.",
    "Erros: extensions.classification com mensagem de senha, não encontrado, expirado, identificador... viram "
    "regras errors; os outros ficam em unclassified_errors.",
)


# -- the contract -----------------------------------------------------------------------------
def _plain(value):
    return json.loads(json.dumps(value))


OPERATION_KEYS = ("list_files", "read_state", "enable", "disable", "contra_chave", "version")


def build_contract(har, base, name, base_name="modelo", certificate=None, requester_id=None):
    """(contract, report) from a parsed HAR and a checked base contract. Raises HarError."""
    calls = graphql_calls(har)
    if not calls:
        raise HarError(
            "a captura não tem nenhum pedido POST .../api/graphql: grave o HAR com a aba Rede aberta (marque "
            "\"Preservar log\") ANTES de entrar no PEC e de abrir Gestão municipal > Certificados, e salve com "
            "\"Salvar tudo como HAR\" (com conteúdo).")
    report = {"operations": [], "unmapped": [], "from_base": [], "unclassified_errors": [], "dropped": [],
              "literals": {}, "warnings": []}
    versions = sorted(set(c["client_version"] for c in calls if c["client_version"]))
    session = [c for c in calls if is_session(c)]
    others = [c for c in calls if not is_session(c)]
    known = known_values(others, certificate, requester_id)
    silent = sorted(set(c["name"] or "?" for c in others if not c["answered"]))
    if silent:
        report["warnings"].append(
            "o HAR não tem a resposta de %s: sem resposta não dá para achar result/fields. Salve o HAR com o "
            "conteúdo das respostas (Chrome: \"Salvar tudo como HAR com conteúdo\")" % ", ".join(silent))
    candidates = _candidates(_groups(others, report), known, versions, report)
    chosen = _choose(candidates, known, report)
    operations = _operations(chosen, base, base_name, known, report)
    _check_captured(calls, report)
    access = _access(session, base, report)
    services = _services(known, base, report)
    errors = _errors(others, base, report)
    contract = {
        "contract_format": CONTRACT_FORMAT,
        "name": name,
        "description": "Gerado de uma captura HAR do PEC%s; operações não conferidas." % (
            " " + versions[-1] if versions else ""),
        "confirmed": False,
        "client_version": versions[-1] if versions else base.get("client_version") or "esus.rnds",
        "services": services,
        "access": access,
        "operations": operations,
        "errors": errors,
    }
    report["pec_version"] = versions[-1] if versions else None
    report["graphql_calls"] = len(calls)
    report["started"] = next((c["started"] for c in calls if c["started"]), None)
    try:
        validate_contract(_plain(contract), source=name)
    except ContractError as exc:
        raise HarError("o contrato gerado não passou na validação (%s): informe este erro aos mantenedores da "
                       "coleção junto com o relatório (sem o HAR)" % exc)
    return contract, report


def _groups(others, report):
    """Captured calls by operation name (a document without a name cannot go in a contract)."""
    groups = {}
    for call in others:
        if not call["name"]:
            report["unmapped"].append({"name": None, "type": call["type"], "entry": call["entry"],
                                       "why": "documento sem nome de operação: o contrato exige query/mutation Nome"})
            continue
        groups.setdefault(call["name"], []).append(call)
    return groups


def _candidates(groups, known, versions, report):
    """Contract operation key -> the captured operations that look like it (with answer objects)."""
    candidates = {}
    for op_name, group in groups.items():
        kind = group[0]["type"]
        if kind == "mutation":
            found = _mutation_candidates(op_name, group, known, report)
        elif kind == "query":
            found = _query_candidates(op_name, group, versions, report)
        else:
            report["unmapped"].append({"name": op_name, "type": kind, "entry": group[0]["entry"],
                                       "why": "não é query nem mutation"})
            found = []
        for key, candidate in found:
            candidates.setdefault(key, []).append(candidate)
    return candidates


def _mutation_candidates(op_name, group, known, report):
    kind, entry = group[0]["type"], group[0]["entry"]
    key, why = classify_mutation(group, known)
    if key is None:
        report["unmapped"].append({"name": op_name, "type": kind, "entry": entry, "why": why})
        return []
    with_data = [c for c in group if c["data"]]
    chosen = ([c for c in group if c["data"] and not c["errors"]] or with_data or group)[0]
    roots = chosen["roots"]
    if len(roots) != 1:
        report["unmapped"].append({"name": op_name, "type": kind, "entry": entry,
                                   "why": "%s; mas a resposta tem %d campos raiz, o contrato lê um" % (why, len(roots))})
        return []
    root = roots[0]
    objects = [c["data"][root] for c in group if c["data"] and isinstance(c["data"].get(root), dict)]
    variables = next((c["variables"] for c in group if key == "enable"
                      and classify_mutation([c], known)[0] == "enable"), chosen["variables"])
    return [(key, {"name": op_name, "type": kind, "entry": entry, "why": why, "document": chosen["document"],
                   "variables_from": variables, "result": root, "objects": objects})]


def _query_candidates(op_name, group, versions, report):
    """Each root field of a query is examined apart: one document may serve several operations."""
    kind, entry = group[0]["type"], group[0]["entry"]
    roots = []
    for call in group:
        for root in call["roots"]:
            if root not in roots:
                roots.append(root)
    found = []
    for root in roots:
        values = [c["data"].get(root) for c in group if c["data"] and root in c["data"]]
        placed, why = classify_root(root, values, op_name, versions)
        if not placed:
            if len(roots) == 1 or "formato 1" in why:
                report["unmapped"].append({"name": op_name, "type": kind, "entry": entry, "root": root, "why": why})
            continue
        for key, path, reason in placed:
            if key == "list_files":
                objects = [i for v in values for i in (get_path({root: v}, path) or []) if isinstance(i, dict)]
            else:
                objects = [o for o in (get_path({root: v}, path) for v in values) if isinstance(o, dict)]
            found.append((key, {"name": op_name, "type": kind, "entry": entry, "why": reason,
                                "document": group[0]["document"], "variables_from": group[0]["variables"],
                                "result": path, "objects": objects}))
    if not found and len(roots) > 1:
        report["unmapped"].append({"name": op_name, "type": kind, "entry": entry, "roots": roots,
                                   "why": "nenhum campo raiz tem arquivo .pfx/.p12, serviços, contra-chave nem versão"})
    return found


def _choose(candidates, known, report):
    """key -> [(score, candidate, fields)], best first (the most fields recognised); the others are unmapped."""
    chosen = {}
    for key in OPERATION_KEYS:
        scored = []
        for candidate in candidates.get(key) or []:
            fields = guess_fields(candidate["objects"], _field_keys(key), known) if _field_keys(key) else {}
            scored.append((len(fields), candidate, fields))
        scored.sort(key=lambda s: -s[0])
        for _score, extra, _fields in scored[1:]:
            report["unmapped"].append({"name": extra["name"], "type": extra["type"], "entry": extra["entry"],
                                       "why": "também parece %s, mas %s foi escolhida (mais campos reconhecidos)"
                                              % (key, scored[0][1]["name"])})
        chosen[key] = scored
    _borrow_fields(chosen)
    return chosen


def _operations(chosen, base, base_name, known, report):
    """The contract's operations: the chosen capture of each, else the base contract's (said in the report)."""
    operations = {}
    base_ops = base.get("operations") or {}
    for key in OPERATION_KEYS:
        if chosen[key]:
            op = _captured(key, chosen[key][0][1], chosen[key][0][2], base_ops, base_name, known, report)
            if op is not None:
                operations[key] = op
        elif key in base_ops:
            operations[key] = _plain(base_ops[key])
            report["from_base"].append({"operation": key, "why": "não aparece na captura"})
            report["operations"].append({"name": operation_name(base_ops[key]["document"]), "mapped_to": key,
                                         "source": "base", "why": "não capturada: copiada do contrato base %s"
                                                                  % base_name})
    return operations


def _captured(key, candidate, fields, base_ops, base_name, known, report):
    """One operation written from the capture, or the base's when the answer lacks the minimum fields."""
    missing = _missing(key, fields)
    line = {"name": candidate["name"], "type": candidate["type"], "entry": candidate["entry"],
            "mapped_to": key, "why": candidate["why"], "result": candidate["result"], "fields": fields}
    report["operations"].append(line)
    if missing:
        line["source"] = "base"
        line["why"] += "; faltam %s na resposta capturada: operação copiada do contrato base %s" % (
            ", ".join(missing), base_name)
        if key not in base_ops:
            return None
        report["from_base"].append({"operation": key, "why": "mínimos ausentes na captura (%s)" % ", ".join(missing)})
        return _plain(base_ops[key])
    dropped = []
    literals = {}
    op = {"document": collapse(candidate["document"]),
          "variables": template_variables(candidate["variables_from"], known, dropped, literals),
          "result": candidate["result"]}
    if fields:
        op["fields"] = fields
    report["dropped"] += [dict(item, operation=key) for item in dropped]
    if literals:
        report["literals"][key] = literals
    line["source"] = "captura"
    if key == "enable":
        if "$password" not in json.dumps(op["variables"]):
            report["warnings"].append("enable: a senha do certificado não ficou como $password nas variáveis")
        for wanted in ("certificate", "services"):
            if wanted not in fields:
                report["warnings"].append(
                    "enable: a resposta de Habilitar não mostra %s; o pec_rnds confere o resultado por "
                    "ele: ajuste fields à mão" % wanted)
    return op


def _check_captured(calls, report):
    captured = [line["mapped_to"] for line in report["operations"] if line.get("source") == "captura"]
    if not captured:
        seen = sorted(set(c["name"] or "?" for c in calls))
        raise HarError(
            "a captura não tem nenhuma operação da aba Certificados que dê para usar (operações GraphQL vistas: "
            "%s). Refaça a captura: abra as Ferramentas do desenvolvedor > Rede com \"Preservar log\", entre no "
            "PEC, escolha o acesso de Administrador Municipal, abra Gestão municipal > Certificados, escolha o "
            "certificado, digite a senha e o identificador, clique em Habilitar e salve \"tudo como HAR\"."
            % (", ".join(seen) or "nenhuma"))
    if "enable" not in captured:
        report["warnings"].append("a captura não tem o Habilitar (mutação com senha e arquivo .pfx/.p12): a operação "
                                  "enable veio do contrato base e provavelmente não existe no seu PEC")


def _access(session, base, report):
    access, why = access_from_sessao(session)
    report["access"] = {"source": "base" if access is None else "captura", "why": why}
    if access is None:
        access = _plain(base["access"])
        report["from_base"].append({"operation": "access", "why": why})
    return access


def _services(known, base, report):
    services = {}
    base_services = base.get("services") or {}
    for service in ("rnds", "cadsus"):
        if service in known["services"]:
            services[service] = known["services"][service]
        elif base_services.get(service):
            services[service] = base_services[service]
    report["services"] = {"seen": sorted(known["services"].values()),
                          "from_base": sorted(k for k in services if k not in known["services"])}
    return services


def _errors(others, base, report):
    """Rules from the captured errors, then the base's rules for the classifications not captured plainly."""
    errors = error_rules(others, report)
    captured_plain = set(r["classification"] for r in errors if "message" not in r)
    errors.extend(_plain(r) for r in base.get("errors") or [] if r.get("classification") not in captured_plain)
    return errors


def _borrow_fields(chosen):
    """A state answer captured before Habilitar has nulls: take the paths another state operation showed.

    read_state, enable and disable answer the same state; a path found in one of them is used in
    another when that answer has the same key (even null) and the key was not recognised there.
    """
    state_ops = [k for k in ("read_state", "enable", "disable") if chosen.get(k)]
    donors = dict((k, dict(chosen[k][0][2])) for k in state_ops)
    for key in state_ops:
        candidate, fields = chosen[key][0][1:]
        present = value_paths(candidate["objects"])
        borrowed = []
        for donor in state_ops:
            for field_key, path in donors[donor].items():
                if donor != key and field_key not in fields and path in present and path not in fields.values():
                    fields[field_key] = path
                    borrowed.append("%s (de %s)" % (field_key, donor))
        if borrowed:
            ordered = dict((k, fields[k]) for k in STATE_KEYS if k in fields)
            fields.clear()
            fields.update(ordered)
            candidate["why"] += "; campos com o mesmo caminho de outra operação: %s" % ", ".join(borrowed)


def _field_keys(key):
    return {"list_files": FILE_KEYS, "read_state": STATE_KEYS, "enable": STATE_KEYS, "disable": STATE_KEYS}.get(key)


def _missing(key, fields):
    required = {"list_files": ("name",), "read_state": ("certificate", "services")}.get(key)
    if required is None:
        return [] if _field_keys(key) is None or fields else ["algum campo (certificado, serviços...)"]
    return [k for k in required if k not in fields]


# -- rendering and checks ---------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    def ignore_aliases(self, data):
        return True


def _str_presenter(dumper, data):
    style = ">" if len(data) > 90 and "\n" not in data and " " in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def render(contract, report, har_name, generated_at, base_name):
    """The contract as commented YAML (the ``# Gerado em:`` line is the only one that changes)."""
    captured = [line["mapped_to"] for line in report["operations"] if line.get("source") == "captura"]
    from_base = [item["operation"] for item in report["from_base"]]
    header = [
        "# Contrato da API do PEC gerado por esus.rnds.pec_contract_from_har - NÃO CONFERIDO (confirmed: false).",
        "# Origem: captura HAR %s (%d pedidos GraphQL%s); versão do PEC vista na captura: %s."
        % (har_name, report["graphql_calls"],
           ", capturada em %s" % report["started"] if report.get("started") else "",
           report.get("pec_version") or "desconhecida"),
        "# Gerado em: %s" % generated_at,
        "# Da captura: %s." % (", ".join(captured) or "nada"),
        "# Do contrato base %s: %s." % (base_name, ", ".join(from_base) or "nada"),
        "# Antes de usar: confira cada operação (document, variables, result, fields) com o que o navegador",
        "# mostrou, rode playbooks/audit.yml --check com rnds_pec_api_contract apontando para este arquivo",
        "# e só então mude confirmed para true. Formato: comentários de pec_contracts/modelo.yml.",
        "# Não há senhas, cookies, tokens nem CPFs da captura neste arquivo (o gerador recusa gravar se houver).",
    ]
    notes = {}
    for line in report["operations"]:
        if line.get("source") == "captura":
            notes[line["mapped_to"]] = "capturada: %s %s (pedido %s do HAR) - %s" % (
                line["type"], line["name"], line["entry"], line["why"])
        else:
            notes[line["mapped_to"]] = line["why"]
    body = yaml.dump(contract, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    out = []
    in_operations = False
    for text in body.splitlines():
        if text and not text.startswith(" "):
            in_operations = text.startswith("operations:")
            top = text.split(":", 1)[0]
            if top == "access":
                out.append("# %s" % ("da captura (Sessao): " + report["access"]["why"]
                                     if report["access"]["source"] == "captura"
                                     else "do contrato base %s: %s" % (base_name, report["access"]["why"])))
            elif top == "services":
                out.append("# serviço da coleção -> valor do PEC (vistos na captura: %s)"
                           % (", ".join(report["services"]["seen"]) or "nenhum"))
        elif in_operations and re.match(r"^  [a-z_]+:$", text) and text.strip()[:-1] in notes:
            out.append("  # " + notes[text.strip()[:-1]])
        out.append(text)
    return "\n".join(header) + "\n" + "\n".join(out) + "\n"


def without_generated(text):
    """Text without the generation date line, for idempotence."""
    return _GENERATED_LINE_RE.sub("", text or "")
