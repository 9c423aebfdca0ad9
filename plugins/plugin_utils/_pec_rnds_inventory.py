# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""The options of ``esus.rnds.pec_rnds`` handled on the controller: ``from_inventory``, ``limit_ibge`` and
``certificate_fingerprints``. None of them reaches the host module.

With ``from_inventory: true`` the municipalities, their logins and certificates and the PEC URL come from
the host's variables (``_pec_host``, checked against the role ``esus.rnds.enable``): a missing variable of
any municipality ends the task before any login (a login without a password would count towards the
PEC's account lock).
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.esus.rnds.plugins.plugin_utils import _municipalities
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import HostValuesError, from_action, options_from_host

ROLE = "enable"
ADMIN = ["rnds_pec_admin_user", "rnds_pec_admin_password"]
TO_ENABLE = ["rnds_certificate_name", "rnds_certificate_password", "rnds_requester_id"]
# Left out of the task, these options take the value of the variable option_labels names for them.
HOST_OPTIONS = ("state", "limit_ibge", "certificate_fingerprints", "api_contract", "force_login", "allow_insecure_http",
                "retry_refused_login", "manual_fallback", "timeout", "retries", "validate_certs", "ca_path")


def required(state):
    """Variables every municipality needs: the admin login always; the certificate and identificador to enable."""
    return ADMIN + ([] if state == "disabled" else TO_ENABLE)


def _with_fingerprints(entries, fingerprints, top_certificate=None):
    for entry in entries:
        if isinstance(entry, dict) and not entry.get("certificate_fingerprint"):
            name = entry.get("certificate") or top_certificate
            if name and fingerprints.get(name):
                entry["certificate_fingerprint"] = fingerprints[name]
    return entries


def prepare(action, args, task_vars):
    """``(module args, None)``, or ``(None, task result)`` when the task ends on the controller."""
    if boolean(args.pop("from_inventory", False), strict=False):
        return _from_inventory(action, args, task_vars)
    limit = args.pop("limit_ibge", None)
    fingerprints = dict(args.pop("certificate_fingerprints", None) or {})
    if isinstance(args.get("municipios"), list):
        args["municipios"] = _with_fingerprints(
            [dict(m) for m in _municipalities.limit_entries(
                [dict(m, ibge=str(m.get("ibge") or "")) for m in args["municipios"]], limit)],
            fingerprints, args.get("certificate"))
        if not args["municipios"]:
            return None, dict(skipped=True, msg="nenhum município de limit_ibge está em municipios")
    elif fingerprints and args.get("certificate") and not args.get("certificate_fingerprint"):
        args["certificate_fingerprint"] = fingerprints.get(args["certificate"])
    return args, None


def _from_inventory(action, args, task_vars):
    try:
        host = from_action(action, task_vars, ROLE)
        # the options the task leaves out come from the host's variables (option_labels names them)
        args = options_from_host(host, args, HOST_OPTIONS)
        entries = host.municipios(required(args.get("state") or "enabled"))
    except HostValuesError as exc:
        return None, dict(failed=True, msg=exc.message)
    limit = args.pop("limit_ibge", None)
    fingerprints = dict(args.pop("certificate_fingerprints", None) or {})
    entries = _municipalities.limit_entries(entries, limit)
    problems = _municipalities.problems(entries)
    if problems:
        return None, dict(failed=True, msg=" ".join(problems), inventory_problems=problems)
    if not entries:
        # rnds_limit_ibge may leave a host without any of the chosen municipalities
        return None, dict(skipped=True, msg="nenhum município de rnds_limit_ibge neste servidor")
    args["municipios"] = _municipalities.pec_logins(entries, certificates=True, fingerprints=fingerprints)
    if not args.get("url"):
        args["url"] = host.pec_url
    return args, None
