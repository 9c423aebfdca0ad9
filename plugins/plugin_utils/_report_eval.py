# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): evaluation of one host of the fleet report.

``evaluate_host`` runs small evaluators in turn; each reads what the audit collected and adds
problems by code (``HostAudit.add``), the words coming from the registry (``_report_problems``).
The checks of each municipality are in ``_report_eval_municipio``.
"""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.module_utils import _install_checks
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_dates as dates
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_input as inp
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_model as model
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_problems as registry
from ansible_collections.esus.rnds.plugins.plugin_utils._report_eval_municipio import evaluate_municipio

# How probe_failed names the task that failed.
PROBES = {
    "pec_info": "A coleta de informações da instalação (pec_info)",
    "rnds_info": "A leitura do estado RNDS no PEC (pec_rnds_info)",
    "auth": "O teste de autenticação na RNDS (rnds_auth)",
}


class HostAudit(object):
    """What is known of one host while it is evaluated, and the problems found so far."""

    def __init__(self, host, raw, expected, now):
        self.host = inp.text(host)
        self.raw = raw  # the registered results: pec_info, rnds_info, auth
        self.exp = inp.normalize_expected(expected)
        self.now = dates.utc(now)
        self.problems = []
        self.info = None  # pec_rnds_info, merged
        self.pec = None  # pec_info, when it answered
        self.files = None  # names of the entries of chaves, when known
        self.pec_municipios = []
        self.pec_certificates = {}  # what pec_rnds_info says of each file in chaves
        self.in_use = set()  # certificate files enabled on the PEC

    @property
    def reachable(self):
        return bool(self.info and self.info.get("reachable"))

    def add(self, code, scope="host", **params):
        """Record a problem of the registry; ``scope`` is ``host`` or the IBGE code it belongs to."""
        self.problems.append({"code": code, "severity": registry.severity(code), "scope": scope or "host",
                              "message": registry.words(code, params)})


def _where(ibge):
    return " para o município %s" % ibge if ibge else ""


def check_collected(audit):
    if not any(result is not None and not inp.is_skipped(result) for result in audit.raw.values()):
        audit.add("no_data", host=audit.host or "HOST")


def read_rnds_info(audit):
    """pec_rnds_info: merged answer, the certificates enabled on the PEC, and failed tasks."""
    audit.info, failed = inp.merge_rnds_info(audit.raw["rnds_info"])
    for result in failed:
        ibge = inp.item_ibge(result)
        audit.add("probe_failed", ibge, probe=PROBES["rnds_info"], where=_where(ibge),
                  error=inp.sentence(inp.failure_message(result)))
    info = audit.info or {}
    audit.pec_certificates = dict((inp.text(c.get("name")), c) for c in reversed(info.get("certificates") or []))
    audit.pec_municipios = [m for m in info.get("municipios") or [] if isinstance(m, dict)]
    for municipio in audit.pec_municipios:
        for service in inp.SERVICES:
            state = municipio.get(service)
            if isinstance(state, dict) and state.get("enabled") and inp.text(state.get("certificate")):
                audit.in_use.add(inp.text(state.get("certificate")))


def check_installation(audit):
    """pec_info: the host answered, the PEC is installed, the chaves folder (module_utils/_install_checks)."""
    pec_info = audit.raw["pec_info"]
    if not isinstance(pec_info, dict) or inp.is_skipped(pec_info):
        return
    if pec_info.get("unreachable"):
        audit.add("host_unreachable", error=inp.sentence(inp.failure_message(pec_info)))
        return
    if inp.is_failed(pec_info):
        audit.add("probe_failed", probe=PROBES["pec_info"], where="",
                  error=inp.sentence(inp.failure_message(pec_info)))
        return
    audit.pec = pec_info
    names = inp.expected_certificate_names(audit.exp)
    for code, params in _install_checks.check(pec_info, expects_file=bool(names)):
        audit.add(code, **params)
    chaves = pec_info.get("chaves") or {}
    if pec_info.get("exists") is not False and chaves.get("exists") and chaves.get("is_dir") is not False:
        entries = [entry for entry in chaves.get("files") or [] if isinstance(entry, dict)]
        audit.files = [inp.text(entry.get("name")) for entry in entries]
        check_stray_certificates(audit, entries, names, _install_checks.folder_names(chaves)["dirname"])


def check_stray_certificates(audit, entries, names, dirname):
    """A .pfx/.p12 in chaves that the inventory does not expect and the PEC does not use."""
    if not names:
        return
    for entry in entries:
        name = inp.text(entry.get("name"))
        if _install_checks.file_kind(entry) == "pkcs12" and name not in names and name not in audit.in_use:
            audit.add("stray_certificate", name=name, dirname=dirname, expected=", ".join(names))


def check_pec_answer(audit):
    """The PEC answered pec_rnds_info (else why not), and how it was read."""
    info = audit.info
    if info is not None and not audit.reachable:
        service = (audit.pec or {}).get("service") or {}
        name = inp.text(service.get("name")) or "e-SUS-PEC"
        error = inp.text(info.get("error")).rstrip(".")
        stopped = inp.text(service.get("state")) == "stopped"
        audit.add("pec_unreachable", url=inp.text(info.get("url")) or "(URL do PEC)", service=name,
                  error=": %s" % error if error else "", state="; o serviço %s está parado" % name if stopped else "")
    elif info is None and audit.raw["rnds_info"] is None and audit.pec is not None \
            and audit.pec.get("exists") is not False:
        audit.add("rnds_info_missing")
    if info is not None and info.get("insecure_http"):
        audit.add("insecure_http", url=inp.text(info.get("url")) or "URL do PEC")
    if info is not None and info.get("force_login_used"):
        audit.add("force_login")


def check_expected_files(audit):
    """Every file the inventory expects is in chaves (pec_info's listing, else the PEC's)."""
    files = audit.files
    if files is None and audit.reachable and audit.raw["pec_info"] is None:
        files = [inp.text(name) for name in audit.info.get("certificates_available") or []]
    if files is None:
        return
    path = inp.text(((audit.pec or {}).get("chaves") or {}).get("path")) or "chaves"
    for name in inp.expected_certificate_names(audit.exp):
        if name not in files:
            audit.add("certificate_file_missing", name=name, path=path)


def find_targets(audit):
    """Pairs (expected entry, PEC municipality or None) to evaluate."""
    if not audit.reachable:
        return [(entry, None) for entry in audit.exp["municipios"]]
    pec = audit.pec_municipios
    if not audit.exp["municipios"]:
        return [(dict(audit.exp["defaults"], ibge=inp.text(m.get("ibge"))), m) for m in pec]
    by_ibge = {}
    for municipio in pec:
        by_ibge.setdefault(inp.text(municipio.get("ibge")), municipio)
    targets = []
    for entry in audit.exp["municipios"]:
        if entry["ibge"]:
            targets.append((entry, by_ibge.get(entry["ibge"])))
        else:
            targets.extend((dict(entry, ibge=inp.text(m.get("ibge"))), m) for m in pec)
    return targets


def check_auth(audit, targets):
    """rnds_auth, one result per host or per municipality: a failure counts on its municipality."""
    entries = inp.auth_results(audit.raw["auth"])
    ibges = set(entry["ibge"] for entry, dummy in targets if entry["ibge"])
    for entry in entries:
        ibge = entry.get("ibge", "")
        scope = ibge if ibge in ibges else "host"
        if entry["failed"]:
            audit.add("probe_failed", scope, probe=PROBES["auth"], where=_where(ibge),
                      error=inp.sentence(entry["diagnosis"]))
        elif not entry["authenticated"]:
            stage, certificate = inp.text(entry.get("stage")), entry.get("certificate_name")
            audit.add("rnds_auth_failed", scope, where=_where(ibge), certificate=" %s" % certificate if certificate else "",
                      stage=" (etapa %s)" % stage if stage else "",
                      diagnosis=inp.sentence(entry.get("diagnosis") or "sem diagnóstico"))
    return auth_summary(entries)


def auth_summary(entries):
    """The host's ``auth``: the first failure (else the first result), ``results`` when several."""
    if not entries:
        return None
    public = [dict((key, value) for key, value in entry.items() if key != "failed") for entry in entries]
    failure = next((entry for entry in public if not entry["authenticated"]), None)
    summary = dict(failure or public[0])
    summary["authenticated"] = failure is None
    summary.pop("ibge", None)
    if len(public) > 1:
        summary["results"] = public
    return summary


def _scope_problems(audit, municipios):
    """Problems sorted errors first; one whose IBGE is not a municipality of the report is the host's."""
    ibges = set(m["ibge"] for m in municipios)
    items = sorted(audit.problems, key=lambda p: -model.SEVERITY[p["severity"]])
    for problem in items:
        if problem["scope"] not in ibges:
            problem["scope"] = "host"
    host_worst = model.worst(p["severity"] for p in items if p["scope"] == "host")
    for municipio in municipios:
        own = [p for p in items if p["scope"] == municipio["ibge"]]
        municipio["problems"] = [p["message"] for p in own]
        municipio["status"] = model.worst([host_worst] + [p["severity"] for p in own])
    return items


def host_entry(audit, municipios, auth):
    """The report entry of the host (fields in docs/report.md)."""
    items = _scope_problems(audit, municipios)
    known = [m for m in municipios if m["days_remaining"] is not None]
    soonest = min(known, key=lambda m: m["days_remaining"]) if known else None
    used = sorted(set(m["certificate"] for m in municipios if m["certificate"]))
    info = audit.info or {}
    situations = [m["rnds_status"] for m in municipios] or ["unverified"]
    return {
        "host": audit.host,
        "status": model.worst(p["severity"] for p in items),
        "rnds_status": next(s for s in model.RNDS_STATUS_PT if s in situations),
        "rnds_enabled": bool(municipios) and all(m["rnds_enabled"] for m in municipios),
        "certificate": ", ".join(used) if used else None,
        "days_remaining": soonest["days_remaining"] if soonest else None,
        "not_after": soonest["not_after"] if soonest else None,
        "expired": bool(soonest and soonest["expired"]),
        "problems": [p["message"] for p in items],
        "problem_details": items,
        "municipios": municipios,
        "pec_version": info.get("pec_version") or (audit.pec or {}).get("version"),
        "pec_url": info.get("url"),
        "reachable": audit.reachable,
        "auth": auth,
    }


def evaluate_host(host, pec_info, rnds_info, auth, expected, now=None):
    """Turn the raw audit results of one host into a report host entry (see docs/report.md)."""
    audit = HostAudit(host, {"pec_info": pec_info, "rnds_info": rnds_info, "auth": auth}, expected, now)
    for check in (check_collected, read_rnds_info, check_installation, check_pec_answer, check_expected_files):
        check(audit)
    targets = find_targets(audit)
    auth_result = check_auth(audit, targets)
    municipios = [evaluate_municipio(audit, entry, municipio) for entry, municipio in targets]
    if audit.reachable and not targets:
        audit.add("no_municipio")
    return host_entry(audit, municipios, auth_result)
