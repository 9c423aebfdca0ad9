# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""What the collection derives from one host's inventory variables, in one place (controller side).

The roles never compute host values in Jinja: their one task per host calls an action plugin with
``from_inventory: true`` (``pec_certificate``, ``pec_rnds``, ``rnds_auth``) or the audit action
(``pec_audit``), and the action reads the host's variables here, once per task, in Python:

- the operating system: ``rnds_pec_os`` (set by the inventory plugin ``esus.rnds.municipios`` from
  the spreadsheet) when present, else the connection (PowerShell shell, WinRM, PSRP) or gathered facts;
- the PEC installation folder (``rnds_pec_install_dir``, default by operating system; a Linux path
  such as another role's default is never used on Windows);
- the PEC URL (``rnds_pec_url``; on Windows the default becomes ``http://<ansible_host>:8080``, the
  PEC seen from the controller, where the PEC client runs for Windows servers);
- the municipalities (``_municipalities.municipality_list``), with every missing variable of every
  municipality in one message.

The variables are also checked against the argument spec of the role that documents them
(``roles/<role>/meta/argument_specs.yml``), so a playbook that imports the role with
``rolespec_validate: false`` (one task less per host) loses no validation.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esus.rnds.plugins.plugin_utils import _municipalities, _yaml

LINUX = "Linux"
WINDOWS = "Windows"
DEFAULT_INSTALL_DIRS = {LINUX: "/opt/e-SUS", WINDOWS: "C:\\Program Files\\e-SUS"}
DEFAULT_PEC_URL = "http://127.0.0.1:8080"
DEFAULT_CHAVES_DIRNAME = "chaves"
WINDOWS_CONNECTIONS = ("winrm", "psrp")
ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
# Variables read besides the role's own arguments (connection and inventory facts).
HOST_VARIABLES = ("inventory_hostname", "ansible_host", "ansible_shell_type", "ansible_connection",
                  "ansible_os_family", "rnds_pec_os", "rnds_pec_install_dir", "rnds_pec_url", "rnds_chaves_dirname",
                  "rnds_municipios") + tuple(_municipalities.KEYS)
_SPECS = {}


class HostValuesError(Exception):
    """The host's variables cannot be used; ``message`` is pt-BR and holds no secret."""

    def __init__(self, message):
        super(HostValuesError, self).__init__(message)
        self.message = message


def pec_os(declared=None, shell_type=None, connection=None, os_family=None):
    """``Windows`` or ``Linux``: ``rnds_pec_os`` wins, else the connection, else gathered facts."""
    text = str(declared or "").strip().lower()
    if text:
        if text == "windows":
            return WINDOWS
        if text == "linux":
            return LINUX
        raise HostValuesError("rnds_pec_os deve ser linux ou windows (recebido: %r); no inventário da planilha, confira "
                              "a coluna so" % str(declared))
    if str(shell_type or "").strip().lower() == "powershell":
        return WINDOWS
    if str(connection or "").strip().lower().rsplit(".", 1)[-1] in WINDOWS_CONNECTIONS:
        return WINDOWS
    if str(os_family or "").strip() == WINDOWS:
        return WINDOWS
    return LINUX


def install_dir(value, os_name):
    """The PEC folder: ``value`` unless empty or a Linux path on Windows (for example another role's default)."""
    text = str(value or "").strip()
    if not text or (os_name == WINDOWS and text.startswith("/")):
        return DEFAULT_INSTALL_DIRS[os_name]
    return text


def pec_url(value, os_name, address):
    """The PEC URL: ``value``, except the default on Windows, which becomes the server seen from the controller."""
    text = str(value or "").strip() or DEFAULT_PEC_URL
    if os_name != WINDOWS or text != DEFAULT_PEC_URL:
        return text
    host = str(address or "").strip()
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "http://%s:8080" % host


def role_spec(role):
    """The options of ``roles/<role>/meta/argument_specs.yml`` (entry point ``main``), read once per process."""
    if role not in _SPECS:
        path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
        with open(path, "rb") as handle:
            data = _yaml.safe_load(handle.read().decode("utf-8"))
        _SPECS[role] = dict(data["argument_specs"]["main"].get("options") or {})
    return _SPECS[role]


class PecHost(object):
    """The host's inventory values (templated and checked once), and what the collection derives from them."""

    def __init__(self, values, role):
        self.values = values
        self.role = role
        self.name = str(values.get("inventory_hostname") or "")
        self.os = pec_os(values.get("rnds_pec_os"), values.get("ansible_shell_type"), values.get("ansible_connection"),
                         values.get("ansible_os_family"))
        self.windows = self.os == WINDOWS
        self.install_dir = install_dir(values.get("rnds_pec_install_dir"), self.os)
        self.chaves_dirname = str(values.get("rnds_chaves_dirname") or DEFAULT_CHAVES_DIRNAME)
        self.pec_url = pec_url(values.get("rnds_pec_url"), self.os, values.get("ansible_host") or self.name)

    @classmethod
    def from_task_vars(cls, templar, task_vars, role):
        """Template the variables ``role`` documents (plus the connection ones) and check them against its spec.

        Raises HostValuesError with every problem found (pt-BR).
        """
        spec = role_spec(role)
        values = {}
        errors = []
        for name in sorted(set(spec) | set(HOST_VARIABLES)):
            if name not in task_vars:
                continue
            try:
                values[name] = templar.template(task_vars[name])
            except AnsibleError as exc:
                errors.append("%s: %s" % (name, to_native(exc.message if hasattr(exc, "message") else exc)))
        if errors:
            raise HostValuesError("não foi possível ler as variáveis deste servidor: %s" % "; ".join(errors))
        checked = ArgumentSpecValidator(spec).validate(dict((k, v) for k, v in values.items() if k in spec))
        if checked.error_messages:
            raise HostValuesError("as variáveis deste servidor não conferem com o que o papel esus.rnds.%s aceita "
                                  "(roles/%s/meta/argument_specs.yml): %s"
                                  % (role, role, "; ".join(to_native(m) for m in checked.error_messages)))
        values.update(checked.validated_parameters)
        return cls(values, role)

    def get(self, name, default=None):
        value = self.values.get(name)
        return default if value is None else value

    def municipios(self, require=None):
        """One entry per municipality (see ``_municipalities.municipality_list``)."""
        host_values = dict((public, self.values.get(public)) for public in _municipalities.KEYS)
        try:
            return _municipalities.municipality_list(self.values.get("rnds_municipios") or [], host_values,
                                                     require=require, host_name=self.name)
        except _municipalities.MunicipalityError as exc:
            raise HostValuesError(str(exc)) from None


def from_action(action, task_vars, role):
    """PecHost for the task an action plugin runs (``task_vars`` as the action received them); read once per task."""
    cached = getattr(action, "_esus_rnds_host", None)
    if cached is not None and cached.role == role:
        return cached
    host = PecHost.from_task_vars(action._templar, task_vars or {}, role)  # pylint: disable=protected-access
    action._esus_rnds_host = host  # pylint: disable=protected-access
    return host


def options_from_host(host, task_args, names):
    """``task_args`` completed, for each option of ``names`` the task leaves out, with the host variable its
    ``option_labels`` entry names (``timeout: rnds_pec_timeout`` -> the value of ``rnds_pec_timeout``).

    The roles' tasks pass only ``from_inventory`` and ``option_labels``: the values were already read and checked
    against the role's argument spec in PecHost, so no task argument is templated per host (each templated argument
    is a Jinja compilation in every worker process). A variable that is unset, None or empty leaves the option to
    its default.
    """
    args = dict(task_args)
    labels = args.get("option_labels") if isinstance(args.get("option_labels"), dict) else {}
    for option in names:
        variable = labels.get(option)
        if option in args or not isinstance(variable, str) or not variable.startswith("rnds_"):
            continue
        value = host.values.get(variable)
        if value is not None and value != "":
            args[option] = value
    return args


def connection_is_powershell(action):
    """True when the task's connection runs PowerShell (a Windows host reached directly)."""
    shell = getattr(getattr(action, "_connection", None), "_shell", None)
    return getattr(shell, "SHELL_FAMILY", "") == "powershell"


def lift_facts(result, parts):
    """Move ``ansible_facts`` of the module results an action nested in its own result up to ``result``.

    The Python interpreter a module execution discovered (``discovered_interpreter_python``) reaches
    the host's later tasks only through the task's own ``ansible_facts``; without it, every task of the
    host would discover the interpreter again (one more round trip).
    """
    for part in parts:
        facts = part.pop("ansible_facts", None) if isinstance(part, dict) else None
        if facts:
            result.setdefault("ansible_facts", {}).update(facts)
    return result
