# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""``esus.rnds.pec_audit``: everything the report needs from one PEC server, in one task.

Read-only, in this order (each part is recorded, none stops the others, the task itself never fails
because of the server - one failing server never hides the others in the report):

1. the host's inventory (``_pec_host``, checked against the role ``esus.rnds.audit``); municipalities
   without admin login or certificate password are reported, never sent to the PEC;
2. ``pec_info`` on the host (Linux only; a Windows server is read from the controller);
3. ``pec_rnds_info`` for every municipality (the PEC client: on the host, or on the controller for a
   Windows server - the role delegates the task there);
4. ``rnds_auth`` for the certificate of every municipality, when asked (Linux only);
5. on the controller, the inventory's certificate files validated as ``pec_certificate`` would
   before a deployment (``validate_only``), so a file that would not deploy is its own problem.

The result has the shape the report reads (``esus.rnds.rnds_report`` ``results`` item):
``{host, pec_info, rnds_info, auth, expected}``, ``auth`` being a list of per-municipality rnds_auth
results (with ``ibge`` and ``certificate_name``) or null. ``expected.municipios`` never holds a password.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.esus.rnds.plugins.plugin_utils import _municipalities
from ansible_collections.esus.rnds.plugins.plugin_utils._auth_inventory import auth_for_entries
from ansible_collections.esus.rnds.plugins.plugin_utils._contracts import run_contract_module
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import HostValuesError, from_action, lift_facts

ROLE = "audit"
# Missing admin logins or certificate passwords are reported ("não verificado"), never sent to the PEC.
REQUIRE = ["rnds_pec_admin_user", "rnds_pec_admin_password", "rnds_certificate_password"]
PEC_OPTIONS = ("api_contract", "force_login", "allow_insecure_http", "retry_refused_login", "return_contra_chave",
               "timeout", "retries", "validate_certs", "ca_path", "option_labels")


def _guarded(action, run):
    """``run()``'s module result, or a result saying why it could not run (the audit records, never stops)."""
    try:
        outcome = run()
    except AnsibleActionFail as exc:  # a contract that cannot be read: nothing was sent
        return {"failed": True, "changed": False, "msg": to_text(exc.message)}
    except AnsibleConnectionFailure as exc:
        return {"unreachable": True, "changed": False, "msg": to_text(exc)}
    finally:
        action._remove_tmp_path(action._connection._shell.tmpdir)  # pylint: disable=protected-access
    outcome.pop("invocation", None)
    return outcome


def _pec_info(action, host, args, task_vars):
    module_args = {"install_dir": host.install_dir, "chaves_dirname": host.chaves_dirname,
                   "option_labels": args["option_labels"]}
    return _guarded(action, lambda: action._execute_module(  # pylint: disable=protected-access
        module_name="esus.rnds.pec_info", module_args=module_args, task_vars=task_vars))


def _rnds_info(action, host, entries, args, task_vars):
    module_args = dict((key, args[key]) for key in PEC_OPTIONS if args.get(key) is not None)
    module_args.update(url=host.pec_url, municipios=_municipalities.pec_logins(entries))
    return _guarded(action, lambda: run_contract_module(action, "esus.rnds.pec_rnds_info", module_args, task_vars))


def _auth(action, host, entries, args, task_vars):
    labels = dict(args["option_labels"])
    # pec_audit's auth_environment and auth_url are rnds_auth's environment and url
    labels.update((name, labels.pop("auth_" + name)) for name in ("environment", "url") if "auth_" + name in labels)
    options = {"environment": args["auth_environment"], "option_labels": labels}
    if args.get("auth_url"):
        options["url"] = args["auth_url"]
    try:
        return auth_for_entries(action, host, [e for e in entries if "rnds_certificate_password" not in e["missing"]],
                                options, task_vars)
    except AnsibleConnectionFailure as exc:
        return [{"unreachable": True, "changed": False, "msg": to_text(exc)}]


def _sources(action, entries, args, task_vars):
    """({file name: facts}, {file name: message}, warnings) for the inventory's files, validated on the controller
    (the CNPJ is the report's own check, on the certificate in use)."""
    certificates, errors, warnings = {}, {}, []
    loader = action._shared_loader_obj  # pylint: disable=protected-access
    for entry in entries:
        name = entry.get("certificate_name")
        if not entry.get("certificate_src") or "rnds_certificate_password" in entry["missing"] or name in certificates \
                or name in errors:
            continue
        task = action._task.copy()  # pylint: disable=protected-access
        task.args = {"src": entry["certificate_src"], "passphrase": entry.get("certificate_password") or "", "name": name,
                     "min_days_remaining": args["min_days_remaining"], "validate_only": True,
                     "option_labels": args["option_labels"]}
        checker = loader.action_loader.get(
            "esus.rnds.pec_certificate", task=task, connection=action._connection,  # pylint: disable=protected-access
            play_context=action._play_context, loader=action._loader, templar=action._templar,  # pylint: disable=protected-access
            shared_loader_obj=loader)
        outcome = checker.run(task_vars=task_vars)
        warnings.extend(outcome.get("warnings") or [])
        if outcome.get("failed"):
            errors[name] = outcome.get("msg") or ""
        elif outcome.get("certificate"):
            certificates[name] = outcome["certificate"]
    return certificates, errors, warnings


def _expected(host, entries, args, certificates, errors):
    first = entries[0] if entries else {}
    return {
        "certificate_name": first.get("certificate_name") or "",
        "min_days_remaining": int(args["min_days_remaining"]),
        "expected_cnpj": first.get("expected_cnpj") or "",
        "requester_id": first.get("requester_id") or "",
        "services": list(host.get("rnds_services") or ["rnds"]),
        "report_contra_chave": bool(args.get("return_contra_chave")),
        "certificates": certificates,
        # Inventory files that would not deploy (wrong password, missing, expired): file name -> message.
        "source_errors": errors,
        # The report reads only the public keys of each municipality (never the passwords).
        "municipios": [_municipalities.public_entry(entry) for entry in entries],
    }


def _warnings(*results):
    out = []
    for result in results:
        for item in result if isinstance(result, list) else [result]:
            if isinstance(item, dict):
                out.extend(w for w in item.get("warnings") or [] if w not in out)
    return out


def gather(action, args, task_vars):
    """The audit entry of one host (see the module documentation of esus.rnds.pec_audit)."""
    name = str((task_vars or {}).get("inventory_hostname") or "")
    try:
        host = from_action(action, task_vars, ROLE)
        entries = host.municipios(REQUIRE)
    except HostValuesError as exc:
        # Nothing can be asked of this server; the report says why.
        return {"changed": False, "host": name, "pec_info": None, "auth": None, "expected": {},
                "rnds_info": {"failed": True, "changed": False, "msg": exc.message}}
    if host.windows:
        pec_info = {"skipped": True, "changed": False,
                    "skip_reason": "pec_info lê a instalação só em servidores Linux"}
    else:
        pec_info = _pec_info(action, host, args, task_vars)
    if pec_info.get("unreachable"):
        rnds_info = {"skipped": True, "changed": False, "skip_reason": "servidor inacessível"}
        auth = None
    else:
        rnds_info = _rnds_info(action, host, entries, args, task_vars)
        auth = _auth(action, host, entries, args, task_vars) if args["auth"] and not host.windows else None
    certificates, errors, source_warnings = _sources(action, entries, args, task_vars)
    result = {"changed": False, "host": host.name, "pec_info": pec_info, "rnds_info": rnds_info,
              "auth": auth if args["auth"] else None,
              "expected": _expected(host, entries, args, certificates, errors)}
    lift_facts(result, [pec_info, rnds_info] + list(auth or []))
    warnings = _warnings(pec_info, rnds_info, auth) + [w for w in source_warnings if w]
    if warnings:
        result["warnings"] = warnings
    return result
