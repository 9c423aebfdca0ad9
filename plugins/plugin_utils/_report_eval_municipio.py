# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): evaluation of one municipality of a host in the fleet report.

Each check reads the inventory entry and what the PEC answered for the municipality and adds
problems by code through the host's ``HostAudit`` (``_report_eval``).
"""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import format_cnpj, normalize_cnpj
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_dates as dates
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_input as inp
from ansible_collections.esus.rnds.plugins.plugin_utils._report_model import SERVICE_LABEL

# Without these the PEC was not asked (no login without a password): the municipality is "não verificado".
ADMIN_KEYS = ("rnds_pec_admin_user", "rnds_pec_admin_password")
NOT_ENABLED = {"rnds": "rnds_not_enabled", "cadsus": "cadsus_not_enabled"}


class Municipio(object):
    """One municipality being evaluated: the inventory entry, the PEC's answer and the report entry."""

    def __init__(self, audit, entry, pec):
        self.audit, self.entry, self.pec = audit, entry, pec
        self.ibge = entry["ibge"]
        nome = inp.text((pec or {}).get("nome")) or entry["nome"]
        self.label = "%s (IBGE %s)" % (nome, self.ibge) if nome else "IBGE %s" % self.ibge
        self.services = entry["services"] or audit.exp["defaults"]["services"]
        self.states = {}
        self.used = []  # (service, state) of the services enabled with a certificate, RNDS first
        self.out = {
            "ibge": self.ibge, "nome": nome, "status": "ok", "rnds_status": "unverified", "rnds_enabled": None,
            "cadsus_enabled": None, "certificate": None, "expected_certificate": entry["certificate_name"] or None,
            "days_remaining": None, "not_after": None, "expired": False,
            "requester_id": None, "enabled_at": None, "services": list(self.services), "problems": [],
        }

    def add(self, code, **params):
        self.audit.add(code, self.ibge, label=self.label, **params)


def check_inventory(mun):
    """What the inventory lacks or the controller could not open; False when the PEC was not asked."""
    entry = mun.entry
    if entry.get("problem"):
        mun.add("inventory_missing", detail=inp.sentence(entry["problem"]))
        if any(key in entry.get("missing") or [] for key in ADMIN_KEYS):
            return False
    name = entry["certificate_name"]
    error = mun.audit.exp["source_errors"].get(name) if name else None
    if error:
        mun.add("source_invalid", error=inp.sentence(error))
    return True


def check_found(mun):
    """The PEC has the municipality; False when it does not (or was not read)."""
    if mun.pec is None:
        if mun.audit.reachable:
            mun.add("municipio_not_found")
        return False
    return True


def check_read(mun):
    """The PEC let the audit read the municipality; False when not (manual pending, refused, session open)."""
    if mun.pec.get("status") == "manual_pending":
        mun.add("manual_pending", certificate=mun.entry["certificate_name"] or "da pasta chaves",
                requester_id=mun.entry["requester_id"] or "do e-Gestor AB")
        mun.out["rnds_status"] = "manual_pending"
        return False
    error = inp.text(mun.pec.get("error"))
    if error:
        code = "not_verified_session" if mun.pec.get("error_code") == "already_logged_in" else "municipio_error"
        mun.add(code, error=inp.sentence(error))
        return False
    return True


def read_states(mun):
    """The state of each service (None: not read) and the fields of the report entry taken from it."""
    pec, out = mun.pec, mun.out
    mun.states = dict((service, inp.service_state(pec, service)) for service in set(inp.SERVICES) | set(mun.services))
    rnds = mun.states["rnds"]
    cadsus = pec.get("cadsus") if isinstance(pec.get("cadsus"), dict) else None  # None: the PEC does not say
    enabled = [mun.states[s].get("enabled") for s in mun.services]
    out["rnds_enabled"] = all(value is True for value in enabled)
    out["rnds_status"] = "enabled" if out["rnds_enabled"] else ("unverified" if None in enabled else "disabled")
    if cadsus is not None:
        out["cadsus_enabled"] = cadsus.get("enabled") is True
    out["requester_id"] = inp.text(rnds.get("requester_id")) or None
    out["enabled_at"] = rnds.get("enabled_at")
    if mun.audit.exp["report_contra_chave"] and "contra_chave" in pec:
        out["contra_chave"] = pec.get("contra_chave")
    for service in ["rnds"] + [s for s in mun.services if s != "rnds"]:
        state = mun.states[service]
        if state.get("enabled") is True and inp.text(state.get("certificate")):
            mun.used.append((service, state))
    if mun.used:
        out["certificate"] = inp.text(mun.used[0][1].get("certificate"))
    return True


def check_services(mun):
    """Every service the inventory asks for is enabled (or say it could not be read)."""
    unknown = []
    for service in mun.services:
        enabled = mun.states[service].get("enabled")
        if enabled is None:
            unknown.append(SERVICE_LABEL.get(service, service))
        elif enabled is not True:
            mun.add(NOT_ENABLED.get(service, "service_not_enabled"), service=service)
    if unknown:
        mun.add("state_unknown", services=" e do ".join(unknown))
    return True


def check_certificate_in_use(mun):
    """The PEC uses the certificate and the identificador the inventory expects."""
    expected, requester = mun.entry["certificate_name"], mun.entry["requester_id"]
    for service, state in mun.used:
        name = inp.text(state.get("certificate"))
        if expected and name != expected:
            mun.add("certificate_mismatch", name=name, service=SERVICE_LABEL.get(service, service), expected=expected)
        found = inp.text(state.get("requester_id"))
        if service == "rnds" and requester and found and found != requester:
            mun.add("requester_mismatch", found=found, expected=requester)
    return True


def validity_sources(mun):
    """(file, not_after, cnpj) to check: the certificates in use; else what the controller (or the
    PEC's listing of chaves) knows of the expected file."""
    expected = mun.entry["certificate_name"]
    sources = [(inp.text(state.get("certificate")), dates.parse_datetime(state.get("not_after")), state.get("cnpj"))
               for dummy, state in mun.used]
    info = mun.audit.exp["certificates"].get(expected) if expected else None
    if not isinstance(info, dict) and expected and not mun.used:
        info = mun.audit.pec_certificates.get(expected)
    if isinstance(info, dict):
        if not mun.used:
            sources.append((expected, dates.parse_datetime(info.get("not_after")), info.get("cnpj")))
        elif info.get("cnpj") and all(name == expected for name, dummy, dummy2 in sources):
            sources = [(name, not_after, cnpj or info.get("cnpj")) for name, not_after, cnpj in sources]
    unique = []
    for source in sources:
        if source[:2] not in [u[:2] for u in unique]:
            unique.append(source)
    return unique


def check_expiry(mun, name, not_after):
    """Expired or fewer days left than the minimum; the soonest expiry goes into the report entry."""
    days, state = dates.validity(not_after, mun.audit.now, mun.audit.exp["min_days_remaining"])
    if mun.out["days_remaining"] is None or days < mun.out["days_remaining"]:
        mun.out.update(days_remaining=days, not_after=dates.iso_utc(not_after), expired=state == "expired")
    if state == "expired":
        ago = dates.days_since(not_after, mun.audit.now)
        mun.add("certificate_expired", name=name, date=dates.local_date(not_after),
                ago="há %d dia(s)" % ago if ago else "há menos de 1 dia")
    elif state == "expiring":
        mun.add("certificate_expiring", name=name, date=dates.local_date(not_after), days=days,
                min_days=mun.audit.exp["min_days_remaining"])


def cnpj_text(value):
    """A CNPJ as people write it (12.345.678/0001-95), or as given when it is not a valid CNPJ."""
    try:
        return format_cnpj(value)
    except ValueError:
        return inp.text(value)


def check_cnpj(mun, name, cnpj):
    """The certificate's CNPJ (when known) is the expected one."""
    expected = mun.entry["expected_cnpj"]
    if expected and inp.text(cnpj) and normalize_cnpj(cnpj) != normalize_cnpj(expected):
        mun.add("cnpj_mismatch", name=name, cnpj=cnpj_text(cnpj), expected=cnpj_text(expected))


def check_validity(mun):
    for name, not_after, cnpj in validity_sources(mun):
        if not_after is not None:
            check_expiry(mun, name, not_after)
        check_cnpj(mun, name, cnpj)
    return True


# In order; each returns False when the checks after it cannot apply.
CHECKS = (check_inventory, check_found, check_read, read_states, check_services, check_certificate_in_use,
          check_validity)


def evaluate_municipio(audit, entry, pec):
    """The report entry of one municipality (fields in docs/report.md); problems go to ``audit``."""
    mun = Municipio(audit, entry, pec)
    for check in CHECKS:
        if not check(mun):
            break
    return mun.out
