# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin esus.rnds.pec_contract_from_har: HAR capture -> PEC API contract, on the controller only."""

from __future__ import annotations

import datetime
import os

import yaml

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import ContractError
from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction
from ansible_collections.esus.rnds.plugins.plugin_utils import _har
from ansible_collections.esus.rnds.plugins.plugin_utils._har_contract import (
    HEURISTICS, build_contract, render, without_generated,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._har_secrets import collect_secrets, find_leaks, scrub
from ansible_collections.esus.rnds.plugins.plugin_utils._contracts import load_contract
from ansible_collections.esus.rnds.plugins.plugin_utils._files import write_atomic

FILE_MODE = 0o600
DIR_MODE = 0o750
MAX_HAR_BYTES = 512 * 1024 * 1024

ARGUMENT_SPEC = dict(
    src=dict(type="path", required=True),
    dest=dict(type="path", required=True),
    name=dict(type="str"),
    base=dict(type="str", default="modelo"),
    certificate=dict(type="str"),
    requester_id=dict(type="str"),
    force=dict(type="bool", default=False),
)


def _plain(value):
    """Task arguments as plain Python types (templated strings may be tagged str subclasses)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    return to_text(value)


def _absolute(path):
    return os.path.abspath(os.path.expanduser(path))


def _read_har(src):
    try:
        size = os.path.getsize(src)
        if size > MAX_HAR_BYTES:
            raise AnsibleActionFail(
                "o HAR %s tem %d MiB (limite %d MiB): salve de novo só a aba Certificados (filtre por graphql "
                "antes de salvar)" % (src, size // 2 ** 20, MAX_HAR_BYTES // 2 ** 20))
        with open(src, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise AnsibleActionFail("não foi possível ler o HAR %s: %s" % (src, to_native(exc.strerror or exc)))


def _read_existing(dest):
    try:
        with open(dest, "rb") as handle:
            return to_text(handle.read(), errors="surrogate_or_strict")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as exc:
        raise AnsibleActionFail("não foi possível ler %s para comparar: %s" % (dest, to_native(exc)))


def _write_atomic(dest, text):
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, DIR_MODE)
    write_atomic(dest, to_bytes(text, encoding="utf-8", errors="surrogate_or_strict"), FILE_MODE,
                 prefix=".esus-rnds-contract.")


def _build(src, base, base_name, name, args):
    """(contract, report, secrets, text) from the HAR at ``src``; refuses a contract holding a secret of the capture."""
    raw = _read_har(src)
    try:
        har = _har.load_har(raw, source=src)
    except _har.HarError as exc:
        raise AnsibleActionFail(to_native(exc))
    del raw
    secrets = collect_secrets(har)
    try:
        contract, report = build_contract(har, base, name, base_name=base_name, certificate=args["certificate"],
                                          requester_id=args["requester_id"])
    except _har.HarError as exc:
        raise AnsibleActionFail(secrets.scrub(to_native(exc)))
    del har
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = render(contract, report, os.path.basename(src), generated, base_name)
    leaks = find_leaks(secrets, contract, text)
    if leaks:
        where = ", ".join(sorted(set("%s (%s)" % leak for leak in leaks)))
        raise AnsibleActionFail(
            "o contrato NÃO foi gravado: valores secretos da captura apareceriam nele: %s. Isso acontece quando "
            "a senha (ou um cookie/token/CPF) vai escrita dentro do documento GraphQL ou repetida em outra "
            "variável. Confira a operação indicada no navegador; o contrato só pode ter $password no lugar da "
            "senha. O HAR tem segredos: apague-o quando terminar." % where)
    if yaml.safe_load(text) != contract:
        raise AnsibleActionFail("o YAML gerado não relê igual ao contrato (erro interno): informe os "
                                "mantenedores, com o relatório, sem o HAR")
    return contract, report, secrets, text


def _report_result(report):
    """The module's return values taken from the (already scrubbed) report."""
    keys = ("operations", "unmapped", "from_base", "unclassified_errors", "dropped", "literals", "access", "services",
            "pec_version", "graphql_calls")
    return dict((key, report[key]) for key in keys)


class ActionModule(CollectionAction):

    def act(self, result, task_vars):
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        args = dict((key, _plain(value)) for key, value in args.items())
        src = _absolute(args["src"])
        dest = _absolute(args["dest"])
        if os.path.isdir(dest):
            raise AnsibleActionFail("dest (%s) é uma pasta: informe o caminho do arquivo do contrato, por exemplo "
                                    "%s" % (dest, os.path.join(dest, "meu-pec.yml")))
        name = args["name"] or os.path.splitext(os.path.basename(dest))[0]
        base_name = args["base"] or "modelo"
        try:
            base = load_contract(base_name)
        except ContractError as exc:
            raise AnsibleActionFail("contrato base: %s" % to_native(exc))
        contract, report, secrets, text = _build(src, base, base_name, name, args)

        existing = _read_existing(dest)
        same = existing is not None and without_generated(existing) == without_generated(text)
        if existing is not None and not same and not args["force"]:
            raise AnsibleActionFail(
                "%s já existe com outro conteúdo (talvez já conferido pela equipe): use force=true para "
                "substituí-lo, ou outro dest" % dest)
        changed = not same
        if changed and not self._task.check_mode:
            try:
                _write_atomic(dest, text)
            except OSError as exc:
                raise AnsibleActionFail("não foi possível gravar %s: %s" % (dest, to_native(exc.strerror or exc)))

        if self._task.diff and changed:
            result["diff"] = {"before": existing or "", "after": text,
                              "before_header": dest if existing is not None else "%s (não existe)" % dest,
                              "after_header": dest}
        report = scrub(report, secrets)
        result.update(changed=changed, dest=dest, src=src, name=name, base=base_name,
                      written=changed and not self._task.check_mode, contract=contract,
                      heuristics=list(HEURISTICS), **_report_result(report))
        if report["warnings"]:
            result["warnings"] = report["warnings"]
        return result
