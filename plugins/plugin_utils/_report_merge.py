# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): join the partial reports of a sliced audit into one report."""

# Controller only: used by the rnds_report_merge action plugin. The
# evaluation and rendering of the report stay in _report; this file only checks that the partial
# reports form one complete run (no stale part, no overlap, no missing slice) and joins them.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.esus.rnds.plugins.plugin_utils import _report_dates as dates
from ansible_collections.esus.rnds.plugins.plugin_utils._report_input import text as _text
from ansible_collections.esus.rnds.plugins.plugin_utils._report_model import SEVERITY, build_report

DEFAULT_MAX_AGE_HOURS = 24
MAX_NAMES_IN_MESSAGE = 10


class MergeError(Exception):
    """The partial reports cannot be joined; ``problems`` says why, one sentence (pt-BR) each."""

    def __init__(self, message, problems=None):
        super(MergeError, self).__init__(message)
        self.message = message
        self.problems = list(problems or [])


def _names(names):
    names = list(names)
    shown = ", ".join(names[:MAX_NAMES_IN_MESSAGE])
    if len(names) > MAX_NAMES_IN_MESSAGE:
        shown += " e mais %d" % (len(names) - MAX_NAMES_IN_MESSAGE)
    return shown


def _run_id(document):
    run = document.get("run")
    if isinstance(run, dict) and run.get("id") not in (None, ""):
        return _text(run.get("id"))
    return None


def _job_id(document):
    run = document.get("run")
    if isinstance(run, dict) and run.get("job_id") not in (None, ""):
        return _text(run.get("job_id"))
    return None


def awx_slices(hosts, count):
    """AWX's job slicing: the hosts ordered by name, slice ``i`` (1-based) gets ``hosts[i-1::count]``.

    AWX orders by the database collation; here the order is Python's (code points). For the usual
    host names (lower case letters, digits, ``-`` and ``.``) both give the same slices.
    """
    ordered = sorted(set(hosts))
    return dict((number, ordered[number - 1::count]) for number in range(1, count + 1))


def infer_slice_count(expected_hosts, host_sets):
    """The slice count that explains where each partial's hosts sit in the ordered inventory, or None.

    In slice ``i`` of ``N`` the hosts are ``N`` places apart in the ordered inventory: every partial
    with two hosts or more gives ``N``; they must all agree.
    """
    index = dict((name, position) for position, name in enumerate(sorted(set(expected_hosts))))
    steps = set()
    for hosts in host_sets:
        positions = sorted(index[name] for name in hosts if name in index)
        gaps = set(b - a for a, b in zip(positions, positions[1:]))
        if len(gaps) > 1:
            return None
        steps.update(gaps)
    if len(steps) == 1:
        return steps.pop()
    return None


def validate_partial(source, document):
    """Raise MergeError unless ``document`` is a partial rnds-report.json."""
    if not isinstance(document, dict) or not isinstance(document.get("hosts"), list):
        raise MergeError("%s não é um rnds-report.json (faltam as chaves 'generated_at' e 'hosts')." % source)
    if document.get("slices"):
        raise MergeError("%s já é um relatório juntado (tem a chave 'slices'): tire-o da pasta dos relatórios "
                         "parciais ou grave o relatório completo em outra pasta." % source)
    if dates.parse_datetime(document.get("generated_at")) is None:
        raise MergeError("%s não tem 'generated_at' válido (data ISO 8601): não é um relatório da coleção." % source)
    for index, entry in enumerate(document["hosts"]):
        if not isinstance(entry, dict) or not _text(entry.get("host")) \
                or entry.get("status") not in SEVERITY:
            raise MergeError("%s: hosts[%d] não é uma entrada de relatório válida (precisa de 'host' e de "
                             "'status')." % (source, index))


def _stale(partials, run_id, max_age_hours, now):
    """(current, problems): partials of the run to merge, and one sentence per stale partial."""
    problems = []
    groups = {}
    for part in partials:
        groups.setdefault(part["run_id"], []).append(part)
    if run_id:
        current_id = run_id
    elif len(groups) > 1:
        # several runs in the same place: the newest one is the run to merge
        current_id = max(groups, key=lambda key: max(p["generated"] for p in groups[key]))
    else:
        current_id = next(iter(groups))
    current = []
    for part in partials:
        if part["run_id"] != current_id:
            problems.append(
                "o relatório parcial %s é de outra execução (%s, gerado em %s), não da execução %s: relatório "
                "antigo esquecido na pasta — apague-o ou mova-o" % (
                    part["source"], part["run_id"] or "sem identificação", dates.local_datetime(part["generated"]),
                    current_id or "sem identificação"))
            continue
        if max_age_hours and now - part["generated"] > datetime.timedelta(hours=max_age_hours):
            problems.append(
                "o relatório parcial %s foi gerado em %s, há mais de %d h (max_age_hours): é de uma auditoria "
                "anterior — rode a auditoria de novo ou aumente max_age_hours" % (
                    part["source"], dates.local_datetime(part["generated"]), max_age_hours))
            continue
        current.append(part)
    return current_id, current, problems


def _overlaps(partials):
    owners = {}
    for part in partials:
        for name in part["hosts"]:
            owners.setdefault(name, []).append(part["source"])
    problems = []
    for name in sorted(owners):
        if len(owners[name]) > 1:
            problems.append("o host %s está em mais de uma fatia (%s): fatias sobrepostas — cada host deve estar "
                            "em um único relatório parcial; confira se o fatiamento ou o inventário mudou entre os "
                            "jobs" % (name, " e ".join(owners[name])))
    return problems


def _coverage(partials, expected_hosts, count):
    """Problems for hosts missing from (or foreign to) the partials, named by slice."""
    covered = set()
    for part in partials:
        covered.update(part["hosts"])
    expected = set(expected_hosts)
    problems = []
    foreign = sorted(covered - expected)
    if foreign:
        problems.append("host(s) que não estão no inventário desta execução aparecem nos relatórios parciais: %s "
                        "— relatório de outro inventário ou de uma execução antiga" % _names(foreign))
    for number, hosts in sorted(awx_slices(expected, count).items()):
        missing = [name for name in hosts if name not in covered]
        if not missing:
            continue
        if len(missing) == len(hosts):
            problems.append("falta a fatia %d de %d (host(s) %s): nenhum relatório parcial a cobre — o job dessa "
                            "fatia falhou antes de gravar o relatório, gravou em outra pasta ou ainda não "
                            "terminou" % (number, count, _names(missing)))
        else:
            problems.append("a fatia %d de %d está incompleta: faltam %s" % (number, count, _names(missing)))
    return problems


def _slice_of(hosts, slices):
    best, best_count = None, 0
    for number, members in slices.items():
        count = len(set(hosts) & set(members))
        if count > best_count:
            best, best_count = number, count
    return best


def _read(partials):
    """Validate each ``(source, document)`` and keep what the checks need."""
    if not partials:
        raise MergeError("nenhum relatório parcial (rnds-report.json) encontrado.")
    parts = []
    for source, document in partials:
        validate_partial(source, document)
        parts.append({
            "source": source,
            "document": document,
            "run_id": _run_id(document),
            "job_id": _job_id(document),
            "generated": dates.parse_datetime(document.get("generated_at")),
            "hosts": [_text(entry.get("host")) for entry in document["hosts"]],
        })
    return parts


def _count_problems(current, expected_hosts, slice_count, count):
    """Missing or extra slices."""
    problems = []
    if expected_hosts:
        problems += _coverage(current, expected_hosts, count)
    elif slice_count and len(current) < slice_count:
        problems.append("faltam %d fatia(s): há %d relatório(s) parcial(is) válido(s) para %d fatias (informe "
                        "expected_hosts para saber quais)" % (slice_count - len(current), len(current), slice_count))
    if slice_count and len(current) > slice_count:
        problems.append("há %d relatórios parciais para %d fatias" % (len(current), slice_count))
    return problems


def _joined(current, current_id, expected_hosts, count, now):
    """The merged report: every host of the partials, ``run`` and one ``slices`` entry per partial."""
    slices = awx_slices(expected_hosts, count) if expected_hosts else {}
    entries = []
    described = []
    for part in sorted(current, key=lambda p: (p["source"])):
        entries.extend(part["document"]["hosts"])
        described.append({
            "number": _slice_of(part["hosts"], slices) if slices else None,
            "count": count,
            "source": part["source"],
            "job_id": part["job_id"],
            "generated_at": dates.iso_utc(part["generated"]),
            "hosts": len(part["hosts"]),
        })
    described.sort(key=lambda d: (d["number"] is None, d["number"] or 0, d["source"]))
    report = build_report(entries, now=max(p["generated"] for p in current))
    report["run"] = {"id": current_id, "slice_count": count, "merged_at": dates.iso_utc(now)}
    report["slices"] = described
    return report


def merge(partials, expected_hosts=None, slice_count=None, run_id=None, max_age_hours=DEFAULT_MAX_AGE_HOURS,
          now=None):
    """Join partial reports into one report dict, or raise MergeError.

    ``partials``: list of ``(source, document)``, ``source`` naming the file in messages.
    ``expected_hosts``: every host of the run (the unsliced inventory); empty skips the coverage check.
    ``slice_count``: N of the slicing; by default inferred from the hosts, else the number of partials.
    ``run_id``: only partials of this run are accepted; by default the newest run found.
    ``max_age_hours``: partials older than this are stale (0 or None: no limit).
    """
    now = dates.utc(now)
    parts = _read(partials)
    run_id = _text(run_id) if run_id not in (None, "") else None
    current_id, current, problems = _stale(parts, run_id, max_age_hours, now)
    problems += _overlaps(current)
    expected_hosts = [_text(name) for name in expected_hosts or [] if _text(name)]
    count = slice_count
    if not count:
        count = (infer_slice_count(expected_hosts, [p["hosts"] for p in current]) if expected_hosts else None) \
            or max(len(current), 1)
    problems += _count_problems(current, expected_hosts, slice_count, count)
    if problems:
        raise MergeError("Os relatórios parciais não formam um relatório completo; nada foi gravado. "
                         + "; ".join(problems) + ".", problems)
    return _joined(current, current_id, expected_hosts, count, now)
