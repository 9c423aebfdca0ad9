# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): the report's inputs, read into plain shapes.

What the audit registers per host (``pec_info``, ``rnds_info``, ``auth``: single results, loop
results, skipped or failed) and what the inventory expects (``expected``). Nothing here decides
whether something is a problem: the evaluators do.
"""

from __future__ import annotations

DEFAULT_MIN_DAYS = 30
SERVICES = ("rnds", "cadsus")

# Keys of an expected-municipality entry the report reads. Anything else (passwords from the
# inventory, for instance) is ignored and never copied into the report.
EXPECTED_MUNICIPIO_KEYS = ("ibge", "nome", "certificate_name", "requester_id", "expected_cnpj", "services",
                           "problem", "missing")
# Fields of one rnds_auth result the report keeps (never the token: rnds_auth does not return it).
AUTH_KEYS = ("diagnosis", "stage", "status_code", "environment", "elapsed_ms", "expires_in")


def text(value):
    return "" if value is None else str(value).strip()


def sentence(value):
    value = text(value)
    if value and value[-1] not in ".!?":
        value += "."
    return value


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def is_failed(result):
    return isinstance(result, dict) and bool(result.get("failed") or result.get("unreachable"))


def is_skipped(result):
    return isinstance(result, dict) and bool(result.get("skipped")) and not is_failed(result)


def failure_message(result):
    msg = text(result.get("msg")) if isinstance(result, dict) else ""
    if result.get("unreachable"):
        return msg or "host inacessível"
    return msg or "a tarefa falhou sem mensagem"


def loop_items(result):
    """A registered result -> list of single results (loops and lists flattened, skipped dropped)."""
    if result is None:
        return []
    if isinstance(result, list):
        items = result
    elif isinstance(result, dict) and isinstance(result.get("results"), list):
        items = result["results"]
    else:
        items = [result]
    return [r for r in items if isinstance(r, dict) and not is_skipped(r)]


def item_value(result, keys, plain_item=False):
    """A value of a result itself, else of its loop ``item`` (a dict; or the item itself if ``plain_item``)."""
    for key in keys:
        if result.get(key) not in (None, "") and not isinstance(result.get(key), dict):
            return text(result.get(key))
    item = result.get("item")
    if isinstance(item, dict):
        for key in keys:
            if item.get(key) not in (None, ""):
                return text(item.get(key))
    elif plain_item and item not in (None, ""):
        return text(item)
    return ""


def item_ibge(result):
    """IBGE of a result: its own ``ibge``, or the item of a task looped over municipalities."""
    return item_value(result, ("ibge", "rnds_municipio_ibge", "municipio"), plain_item=True)


# --------------------------------------------------------------------------- expectations


def _expected_value(key, value):
    if key == "services":
        return [str(s).lower() for s in as_list(value) if s]
    if key == "missing":
        return [text(s) for s in as_list(value) if s]
    return text(value)


def normalize_expected(expected):
    """``expected`` of one host -> {min_days_remaining, report_contra_chave, defaults, municipios,
    certificates, source_errors}; each municipality has every key of EXPECTED_MUNICIPIO_KEYS."""
    expected = dict(expected or {})
    try:
        min_days = int(expected.get("min_days_remaining", DEFAULT_MIN_DAYS))
    except (TypeError, ValueError):
        min_days = DEFAULT_MIN_DAYS
    defaults = dict((key, _expected_value(key, expected.get(key))) for key in EXPECTED_MUNICIPIO_KEYS)
    defaults.update(ibge=text(expected.get("ibge") or expected.get("municipio_ibge")), problem="", missing=[])
    defaults["services"] = defaults["services"] or ["rnds"]
    municipios = []
    for item in as_list(expected.get("municipios")):
        if isinstance(item, dict):
            municipios.append(dict((key, _expected_value(key, item.get(key)) or defaults[key])
                                   for key in EXPECTED_MUNICIPIO_KEYS))
    if not municipios and defaults["ibge"]:
        municipios.append(dict(defaults))
    certificates = expected.get("certificates")
    source_errors = expected.get("source_errors")
    return {
        "source_errors": dict((text(k), text(v)) for k, v in source_errors.items() if text(k))
        if isinstance(source_errors, dict) else {},
        "min_days_remaining": min_days,
        "report_contra_chave": bool(expected.get("report_contra_chave", False)),
        "defaults": defaults,
        "municipios": municipios,
        "certificates": certificates if isinstance(certificates, dict) else {},
    }


def expected_certificate_names(exp):
    """Every certificate file name the inventory expects on this host (sorted, no empty name)."""
    names = [exp["defaults"]["certificate_name"]] + [m["certificate_name"] for m in exp["municipios"]]
    return sorted(set(name for name in names if name))


# --------------------------------------------------------------------------- pec_rnds_info


def with_service_states(municipio):
    """pec_rnds_info gives one certificate per municipality with its services; the checks read one
    state per service (``rnds``, ``cadsus``), with ``enabled`` None when it could not be read."""
    municipio = dict(municipio)
    state = municipio.get("state")
    if "rnds" in municipio or "cadsus" in municipio:
        return municipio
    listed = list(state.get("services") or []) if isinstance(state, dict) else []
    for service in list(SERVICES) + [s for s in listed if s not in SERVICES]:
        if not isinstance(state, dict):
            municipio[service] = {"enabled": None}
            continue
        enabled = service in listed and bool(text(state.get("certificate")))
        municipio[service] = dict(state, enabled=enabled) if enabled else {"enabled": False}
    return municipio


def service_state(municipio, service):
    """The state of one service of a municipality read by pec_rnds_info (see with_service_states): a
    service it does not list is not enabled when the PEC gave its state, unknown ({}) otherwise."""
    value = municipio.get(service)
    if isinstance(value, dict):
        return value
    return {"enabled": False} if isinstance(municipio.get("state"), dict) else {}


def _new_info(result):
    return {"url": result.get("url"), "reachable": bool(result.get("reachable")),
            "pec_version": result.get("pec_version"), "error": result.get("error"),
            "certificates_available": [], "certificates": [], "municipios": [],
            "force_login_used": False, "insecure_http": False}


def _add_info(merged, result):
    merged["reachable"] = merged["reachable"] or bool(result.get("reachable"))
    for key in ("pec_version", "error"):
        merged[key] = merged[key] or result.get(key)
    for key in ("force_login_used", "insecure_http"):
        merged[key] = merged[key] or bool(result.get(key))
    for name in result.get("certificates_available") or []:
        if name not in merged["certificates_available"]:
            merged["certificates_available"].append(name)
    merged["certificates"].extend(c for c in result.get("certificates") or [] if isinstance(c, dict))
    known = set(text(m.get("ibge")) for m in merged["municipios"])
    for municipio in result.get("municipios") or []:
        if isinstance(municipio, dict) and text(municipio.get("ibge")) not in known:
            municipio = with_service_states(municipio)
            if "contra_chave" in result:  # one per installation
                municipio["contra_chave"] = result.get("contra_chave")
            merged["municipios"].append(municipio)
            known.add(text(municipio.get("ibge")))


def merge_rnds_info(rnds_info):
    """pec_rnds_info (single result or loop) -> (merged dict or None, failed results)."""
    merged, failed = None, []
    for result in loop_items(rnds_info):
        if is_failed(result):
            failed.append(result)
            continue
        if merged is None:
            merged = _new_info(result)
        _add_info(merged, result)
    return merged, failed


# --------------------------------------------------------------------------- rnds_auth


def auth_results(auth):
    """rnds_auth as registered (one result, a loop, or a list of per-municipality results carrying
    ``ibge`` and ``certificate_name``) -> one entry per result: ``authenticated``, ``failed`` (the
    task failed without an answer), ``ibge``, ``certificate_name`` and the kept fields."""
    entries = []
    for result in loop_items(auth):
        failed = is_failed(result) and "authenticated" not in result
        if failed:
            entry = {"authenticated": False, "diagnosis": failure_message(result), "stage": None}
        else:
            entry = dict((key, result.get(key)) for key in AUTH_KEYS)
            entry["authenticated"] = bool(result.get("authenticated"))
        entry["failed"] = failed
        for key, value in (("ibge", item_ibge(result)), ("certificate_name", item_value(result, ("certificate_name",)))):
            if value:
                entry[key] = value
        entries.append(entry)
    return entries
