# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin esus.rnds.rnds_report: write the fleet report on the controller (never on a host)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.esus.rnds.plugins.plugin_utils import _monitoring, _report
from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction
from ansible_collections.esus.rnds.plugins.plugin_utils._files import write_atomic

FORMATS = ("json", "csv", "html")
FILE_NAMES = {"json": "rnds-report.json", "csv": "rnds-report.csv", "html": "rnds-report.html"}
LEVEL_PT = {"warning": "aviso", "error": "erro"}
DIR_MODE = 0o750
FILE_MODE = 0o640
# Monitoring files are read by another user (node_exporter, zabbix agent): no secret in them.
MONITORING_FILE_MODE = 0o644
MONITORING_DIR_MODE = 0o755
MAX_HOSTS_IN_MESSAGE = 50

ARGUMENT_SPEC = dict(
    results=dict(type="list", elements="dict"),
    hosts=dict(type="list", elements="dict"),
    all_hosts=dict(type="list", elements="str", default=[]),
    dest=dict(type="path", required=True),
    formats=dict(type="list", elements="str", default=list(FORMATS), choices=list(FORMATS)),
    fail_on=dict(type="str", default="none", choices=["none", "warning", "error"]),
    run_id=dict(type="str"),
    job_id=dict(type="str"),
    prometheus_file=dict(type="path"),
    zabbix_file=dict(type="path"),
)


def _plain(value):
    """Copy task-arg data into plain Python types (drops templating wrappers)."""
    if isinstance(value, dict):
        return dict((to_text(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return to_text(value)


def _write_atomic(path, data, mode=FILE_MODE):
    """Report files: 0640 by default (see write_atomic)."""
    write_atomic(path, data, mode, prefix=".rnds-report.")


def write_report(report, dest, formats, prometheus_file=None, zabbix_file=None, path_dwim=None):
    """Write the report files (dest/rnds-report.*, 0640 in a 0750 folder) and the opt-in monitoring
    files (0644) atomically; returns {format: path}. Shared by rnds_report and rnds_report_merge."""
    try:
        if not os.path.isdir(dest):
            if os.path.lexists(dest):
                raise AnsibleActionFail("dest (%s) existe e não é uma pasta: informe uma pasta para o relatório." % dest)
            os.makedirs(dest, DIR_MODE)
            os.chmod(dest, DIR_MODE)
        paths = {}
        renderers = {"json": _report.render_json, "csv": _report.render_csv, "html": _report.render_html}
        for fmt in formats:
            path = os.path.join(dest, FILE_NAMES[fmt])
            _write_atomic(path, to_bytes(renderers[fmt](report), encoding="utf-8", errors="surrogate_or_strict"))
            paths[fmt] = path
    except OSError as exc:
        raise AnsibleActionFail("Não foi possível gravar o relatório em %s: %s" % (dest, to_native(exc.strerror or exc)))

    monitoring = (("prometheus", prometheus_file, _monitoring.prometheus_text),
                  ("zabbix", zabbix_file, _monitoring.zabbix_lld))
    for fmt, path, render in monitoring:
        if not path:
            continue
        path = os.path.expanduser(path)
        if not os.path.isabs(path) and path_dwim is not None:
            path = path_dwim(path)
        try:
            if os.path.isdir(path):
                raise AnsibleActionFail("%s_file (%s) é uma pasta: informe o caminho do arquivo." % (fmt, path))
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):
                os.makedirs(parent, MONITORING_DIR_MODE)
            # Atomic: node_exporter's textfile collector or the Zabbix agent never read half a file.
            _write_atomic(path, to_bytes(render(report), encoding="utf-8", errors="surrogate_or_strict"),
                          mode=MONITORING_FILE_MODE)
        except OSError as exc:
            raise AnsibleActionFail("Não foi possível gravar o arquivo de monitoramento (%s) %s: %s"
                                    % (fmt, path, to_native(exc.strerror or exc)))
        paths[fmt] = path
    return paths


def publish(report, dest, args, path_dwim, where):
    """Write ``report`` for the task options ``args`` (``formats``, each once; ``prometheus_file``, ``zabbix_file``)
    and return the task result: changed, dest, paths, generated_at, summary, and ``msg``, which is ``where``
    followed by the fleet counts. Shared by rnds_report and rnds_report_merge."""
    formats = []
    for fmt in args["formats"]:
        if fmt not in formats:
            formats.append(fmt)
    paths = write_report(report, dest, formats, args.get("prometheus_file"), args.get("zabbix_file"), path_dwim)
    summary = report["summary"]
    return dict(
        changed=False,
        dest=dest,
        paths=paths,
        generated_at=report["generated_at"],
        summary=summary,
        msg="%s: %d host(s) — ok %d, aviso %d, erro %d; %d de %d município(s) habilitado(s) no RNDS."
            % (where, summary["hosts_total"], summary["ok"], summary["warning"], summary["error"],
               summary["rnds_enabled_municipios"], summary["municipios_total"]),
    )


def parts_dir_stats(dest):
    """Custom stats naming the folder of the partial reports (what an ansible.builtin.set_stats task would return).

    AWX passes them to the next node of a workflow as extra vars: with job slicing every slice publishes the
    same folder (the parent of dest, <base>/<workflow>), where esus.rnds.report_merge finds the partial reports.
    """
    return {"data": {"rnds_report_parts_dir": os.path.dirname(dest.rstrip(os.sep))}, "per_host": False,
            "aggregate": True}


class ActionModule(CollectionAction):
    """Evaluate per-host audit results and write rnds-report.{json,csv,html} on the controller."""

    _requires_connection = False

    def _entries(self, args):
        if args.get("results") is not None:
            entries = []
            for index, item in enumerate(args["results"]):
                host = to_text(item.get("host") or "").strip()
                if not host:
                    raise AnsibleActionFail("results[%d] não tem a chave 'host' (nome do host no inventário)." % index)
                entries.append(_report.evaluate_host(
                    host, item.get("pec_info"), item.get("rnds_info"), item.get("auth"), item.get("expected")))
            return entries
        entries = []
        for index, item in enumerate(args["hosts"]):
            if not to_text(item.get("host") or "").strip() or item.get("status") not in _report.SEVERITY:
                raise AnsibleActionFail(
                    "hosts[%d] não é uma entrada de relatório válida: precisa de 'host' e de 'status' "
                    "(ok, warning ou error)." % index)
            entries.append(item)
        return entries

    @staticmethod
    def _add_missing(entries, all_hosts):
        """Hosts that should be in the report but sent nothing are reported as errors (no data)."""
        present = set(e["host"] for e in entries)
        for name in all_hosts:
            name = to_text(name).strip()
            if name and name not in present:
                entries.append(_report.evaluate_host(name, None, None, None, None))
                present.add(name)
        return entries

    def act(self, result, task_vars):

        validation, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC,
            mutually_exclusive=[("results", "hosts")],
            required_one_of=[("results", "hosts")],
        )
        del validation
        args = _plain(args)

        dest = os.path.expanduser(args["dest"])
        if not os.path.isabs(dest):
            dest = self._loader.path_dwim(dest)

        report = _report.build_report(self._add_missing(self._entries(args), args["all_hosts"]))
        if args.get("run_id") or args.get("job_id"):
            # Which run and job wrote this (partial) report: what rnds_report_merge checks slices against.
            report["run"] = {"id": args.get("run_id") or None, "job_id": args.get("job_id") or None}

        result.update(publish(report, dest, args, self._loader.path_dwim, "Relatório gravado em %s" % dest))

        if args.get("job_id"):
            result["ansible_stats"] = parts_dir_stats(dest)

        level = args["fail_on"]
        if level != "none":
            failing = _report.hosts_at_or_above(report, level)
            if failing:
                listed = ["%s (%s)" % (h["host"], _report.STATUS_PT.get(h.get("status"), h.get("status")))
                          for h in failing[:MAX_HOSTS_IN_MESSAGE]]
                more = len(failing) - len(listed)
                result["failed"] = True
                result["failed_hosts"] = [h["host"] for h in failing]
                result["msg"] = (
                    "Relatório gravado em %s, mas %d host(s) têm status %s ou pior (fail_on=%s): %s%s. "
                    "Veja o que fazer em cada caso em %s."
                    % (dest, len(failing), LEVEL_PT[level], level, ", ".join(listed),
                       " e mais %d" % more if more > 0 else "",
                       result["paths"].get("html") or result["paths"].get("csv") or result["paths"].get("json")))
        return result
