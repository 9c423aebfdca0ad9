# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""``esus.rnds.pec_certificate`` with ``from_inventory: true``: every certificate of one host in one task.

Order, so that nothing reaches the host before the whole inventory of the host is right:

1. the host's variables (``_pec_host``): every missing variable of every municipality in one message;
2. each distinct certificate file validated on the controller (all of them, before any connection);
3. the deployment: on Linux one ``pec_certificate`` module execution per file, on Windows the
   ``ansible.windows`` modules (``_windows_chaves``).

The result keeps one entry per file in ``results`` (as a loop would) and the validated fingerprints
by file name in ``fingerprints``, which the enable role takes as ``rnds_certificate_fingerprints``.
"""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.module_utils._labels import render
from ansible_collections.esus.rnds.plugins.plugin_utils import _municipalities
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import (
    HostValuesError,
    connection_is_powershell,
    from_action,
    lift_facts,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._windows_chaves import deploy_windows

ROLE = "certificate"
REQUIRED = ["rnds_certificate_src", "rnds_certificate_password"]


def _prefixed(label, name, message):
    """``message`` prefixed with the spreadsheet line of the file, when it has one."""
    return message if label == name else "%s: %s" % (label, message)


def _os_mismatch(host, windows_connection):
    if host.windows == windows_connection:
        return None
    if host.windows:
        return ("o inventário diz que %s é um servidor Windows (rnds_pec_os: windows), mas a conexão não usa PowerShell: "
                "defina ansible_shell_type: powershell (OpenSSH) ou ansible_connection: winrm/psrp para este servidor"
                % host.name)
    return ("a conexão com %s usa PowerShell (servidor Windows), mas o inventário diz rnds_pec_os: %s: corrija a coluna "
            "so da planilha ou rnds_pec_os" % (host.name, host.get("rnds_pec_os")))


def _distinct(entries):
    """First entry of each certificate file name (municipality_list already refused two sources under one name)."""
    seen = {}
    for entry in entries:
        if entry.get("certificate_src") and entry["certificate_name"] not in seen:
            seen[entry["certificate_name"]] = entry
    return list(seen.values())


def _validate_all(action, args, entries):
    """(checked, failures): every file validated on the controller before anything is sent."""
    labels = args["option_labels"]
    checked, failures = [], []
    for entry in entries:
        label = _municipalities.certificate_label(entry)
        try:
            name, facts, content, origin, warnings = action.check_certificate(
                args, entry["certificate_src"], entry.get("certificate_password") or "", entry["certificate_name"],
                entry.get("expected_cnpj") or args["expected_cnpj"])
        except action.Refused as exc:
            failure = {"name": entry["certificate_name"], "failed": True,
                       "msg": _prefixed(label, entry["certificate_name"], render(exc.message, labels))}
            if exc.facts is not None:
                failure.update(certificate=exc.facts, validation_cache=exc.origin)
            failures.append(failure)
            continue
        checked.append(dict(name=name, label=label, src=action.source_path(entry["certificate_src"]), facts=facts,
                            content=content, origin=origin,
                            warnings=[_prefixed(label, name, render(warning, labels)) for warning in warnings]))
    return checked, failures


def _deploy_linux(action, args, checked, task_vars):
    results = []
    for cert in checked:
        module_result = action.run_host_module(args, cert["name"], cert["content"], cert["facts"], task_vars)
        module_result.pop("invocation", None)
        if module_result.get("failed"):
            module_result["msg"] = _prefixed(cert["label"], cert["name"], module_result.get("msg") or "falhou")
        results.append(module_result)
    return results


def deploy_from_inventory(action, args, task_vars):
    """The task result of pec_certificate ``from_inventory: true`` (see the module's documentation)."""
    try:
        host = from_action(action, task_vars, ROLE)
        entries = host.municipios(require=REQUIRED)
    except HostValuesError as exc:
        return dict(failed=True, msg=exc.message)
    problems = _municipalities.problems(entries)
    if problems:
        # before any file is read or any connection is opened
        return dict(failed=True, msg=" ".join(problems), inventory_problems=problems)
    windows = connection_is_powershell(action)
    problem = _os_mismatch(host, windows)
    args = dict(args, install_dir=host.install_dir, chaves_dirname=host.chaves_dirname,
                keep=[entry["certificate_name"] for entry in _distinct(entries)])
    problem = problem or action.check_options(args, windows=windows)
    if problem is None and windows and args["prune"]:
        problem = ("rnds_certificate_prune ainda não é suportado em servidores Windows: remova à mão os certificados "
                   "antigos de %s\\webserver\\%s" % (host.install_dir, host.chaves_dirname))
    if problem is not None:
        return dict(failed=True, msg=render(problem, args["option_labels"]))

    checked, failures = _validate_all(action, args, _distinct(entries))
    warnings = [warning for cert in checked for warning in cert["warnings"]]
    fingerprints = dict((cert["name"], cert["facts"]["fingerprint_sha256"]) for cert in checked)
    if failures:
        results = failures + [dict(name=cert["name"], certificate=cert["facts"], validation_cache=cert["origin"],
                                   changed=False) for cert in checked]
        out = dict(failed=True, msg="; ".join(f["msg"] for f in failures), results=results)
        if warnings:
            out["warnings"] = warnings
        return out
    if args["validate_only"]:
        results = [dict(name=cert["name"], certificate=cert["facts"], validation_cache=cert["origin"], changed=False,
                        validated=True) for cert in checked]
        return dict(changed=False, validated=True, results=results, fingerprints=fingerprints, warnings=warnings)

    if windows:
        deployed = deploy_windows(action, args, checked, task_vars)
        results = deployed.get("results") or []
    else:
        results = _deploy_linux(action, args, checked, task_vars)
        deployed = {}
    for cert, item in zip(checked, results):
        warnings.extend(item.pop("warnings", None) or [])
        item.update(name=cert["name"], certificate=cert["facts"], validation_cache=cert["origin"])
    out = lift_facts(dict(changed=any(item.get("changed") for item in results) or bool(deployed.get("changed")),
                          results=results, fingerprints=fingerprints), results)
    diffs = [item.pop("diff") for item in results if item.get("diff")]
    if diffs:
        out["diff"] = diffs
    failed = [item["msg"] for item in results if item.get("failed")]
    if deployed.get("failed"):
        failed.insert(0, deployed.get("msg") or "falhou")
    if failed:
        out.update(failed=True, msg="; ".join(failed))
    if warnings:
        out["warnings"] = warnings
    return out
