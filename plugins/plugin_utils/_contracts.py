# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): load the PEC API contract on the controller.

``api_contract`` of pec_rnds / pec_rnds_info is a shipped name (``modelo`` is
``pec_contracts/modelo.yml`` in the collection), a path to a YAML/JSON file on the controller,
or an already parsed dict. The action plugins resolve it here and pass the checked dict to the
module, so PEC servers never need PyYAML nor the file.
"""

import os
import re


from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.esus.rnds.plugins.module_utils._labels import option, render
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import normalize_url, normalize_username
from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import ContractError, validate_contract
from ansible_collections.esus.rnds.plugins.plugin_utils import _yaml
from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction
from ansible_collections.esus.rnds.plugins.plugin_utils._refused_logins import RefusedLogins

DEFAULT_CONTRACT = "modelo"
SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "pec_contracts")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_CACHE = {}


def shipped_contracts():
    try:
        return sorted(name[:-4] for name in os.listdir(SHIPPED_DIR) if name.endswith(".yml"))
    except OSError:
        return []


def contract_path(value, base_dir=None):
    """Shipped name -> file in the collection; anything else is a path (relative to ``base_dir``)."""
    if _NAME_RE.match(value) and not value.endswith((".yml", ".yaml", ".json")):
        path = os.path.join(SHIPPED_DIR, value + ".yml")
        if not os.path.isfile(path):
            raise ContractError(
                "contrato da API do PEC %r não existe na coleção (contratos incluídos: %s); para um arquivo seu, "
                "informe o caminho (por exemplo contracts/meu-pec.yml)" % (value, ", ".join(shipped_contracts())))
        return path
    path = os.path.expanduser(value)
    if not os.path.isabs(path) and not os.path.exists(path) and base_dir:
        # Relative: from the directory ansible-playbook runs in, else from the playbook's directory.
        path = os.path.join(base_dir, path)
    return os.path.abspath(path)


def load_contract(value, base_dir=None):
    """The checked contract dict for ``value`` (name, path or dict). Raises ContractError (pt-BR)."""
    if isinstance(value, dict):
        return validate_contract(dict(value), source=option("api_contract"))
    if value in (None, ""):
        value = DEFAULT_CONTRACT
    if not isinstance(value, str):
        raise ContractError("%s deve ser o nome de um contrato incluído, um caminho ou um dicionário"
                            % option("api_contract"))
    path = contract_path(value, base_dir)
    try:
        stamp = os.stat(path)
    except OSError as exc:
        raise ContractError("não foi possível ler o contrato da API do PEC %s: %s" % (path, exc.strerror))
    key = (path, stamp.st_mtime_ns, stamp.st_size)
    if key not in _CACHE:
        try:
            with open(path, "rb") as handle:
                data = _yaml.safe_load(handle.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError, _yaml.YAMLError) as exc:
            raise ContractError("o contrato da API do PEC %s não é um YAML/JSON legível: %s" % (path, to_native(exc)))
        _CACHE[key] = validate_contract(data, source=path)
    return _CACHE[key]


class ContractAction(CollectionAction):
    """Action plugin of a module that talks to the PEC: resolves ``api_contract``, then runs the module."""

    MODULE = None

    def prepare(self, args, task_vars):
        """Adjust the module arguments before anything is sent; return ``(args, None)``, or ``(None, result)``
        to end the task with ``result`` there (for example an inventory problem found on the controller)."""
        return args, None

    def act(self, result, task_vars):
        args, stop = self.prepare(dict(self._task.args), task_vars)
        if stop is not None:
            result.update(stop)
            return result
        result.update(run_contract_module(self, self.MODULE, args, task_vars))
        return result


def run_contract_module(action, module, args, task_vars):
    """Run ``module`` (pec_rnds or pec_rnds_info) from ``action``: contract resolved and refused logins remembered
    on the controller. Raises AnsibleActionFail for a contract that cannot be read."""
    args = dict(args)
    base_dir = action._loader.get_basedir() if action._loader else None  # pylint: disable=protected-access
    try:
        args["api_contract"] = load_contract(args.get("api_contract"), base_dir)
    except ContractError as exc:
        labels = args.get("option_labels") if isinstance(args.get("option_labels"), dict) else None
        raise AnsibleActionFail(render(to_native(exc), labels))
    host = (task_vars or {}).get("inventory_hostname") or ""
    url = normalize_url(args.get("url"))
    logins = _logins(args)
    retry = boolean(args.pop("retry_refused_login", False), strict=False)
    refused = []
    with RefusedLogins() as memo:
        for cpf, password in logins.items():
            if retry:
                memo.forget(host, url, cpf, password)
            elif memo.refused_at(host, url, cpf, password):
                refused.append({"cpf": cpf, "at": memo.refused_at(host, url, cpf, password)})
    args["refused_logins"] = refused
    result = action._execute_module(module_name=module, module_args=args, task_vars=task_vars)  # pylint: disable=protected-access
    newly = [cpf for cpf in result.get("logins_refused") or [] if cpf in logins]
    if newly:
        with RefusedLogins() as memo:
            for cpf in newly:
                memo.record(host, url, cpf, logins[cpf])
    return result


def _logins(args):
    """{cpf: password} of the task (top-level username/password and each municipios entry)."""
    out = {}
    entries = args.get("municipios") if isinstance(args.get("municipios"), list) else []
    for item in [args] + [e for e in entries if isinstance(e, dict)]:
        username = item.get("username") or args.get("username")
        password = item.get("password") or args.get("password")
        cpf = normalize_username(username) if isinstance(username, str) else None
        if cpf and isinstance(password, str) and password:
            out.setdefault(cpf, password)
    return out
