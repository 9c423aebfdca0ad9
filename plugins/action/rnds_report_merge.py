# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin esus.rnds.rnds_report_merge: join the partial reports of a sliced audit, on the controller."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.esus.rnds.plugins.action.rnds_report import (
    FILE_NAMES, FORMATS, _plain, publish,
)
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_merge
from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction

MAX_PARTIAL_BYTES = 256 * 1024 * 1024

ARGUMENT_SPEC = dict(
    src=dict(type="list", elements="path", required=True),
    dest=dict(type="path", required=True),
    expected_hosts=dict(type="list", elements="str", default=[]),
    slice_count=dict(type="int"),
    run_id=dict(type="str"),
    max_age_hours=dict(type="int", default=_report_merge.DEFAULT_MAX_AGE_HOURS),
    formats=dict(type="list", elements="str", default=list(FORMATS), choices=list(FORMATS)),
    prometheus_file=dict(type="path"),
    zabbix_file=dict(type="path"),
)


class ActionModule(CollectionAction):
    """Read partial rnds-report.json files, check they form one run, write the full report."""

    _requires_connection = False

    def _absolute(self, path):
        path = os.path.expanduser(path)
        if not os.path.isabs(path):
            path = self._loader.path_dwim(path)
        return os.path.normpath(path)

    @staticmethod
    def _find(sources, dest):
        """Partial report files: each source is a file, or a folder whose (sub)folders hold rnds-report.json."""
        name = FILE_NAMES["json"]
        found = []
        for source in sources:
            if os.path.isfile(source):
                found.append((source, source))
                continue
            if not os.path.isdir(source):
                raise AnsibleActionFail("src (%s) não existe: informe a pasta dos relatórios parciais ou os arquivos "
                                        "rnds-report.json." % source)
            candidates = [os.path.join(source, name)]
            for entry in sorted(os.listdir(source)):
                candidates.append(os.path.join(source, entry, name))
            for path in candidates:
                # the merged report may live under src: never take it for a partial
                if os.path.isfile(path) and os.path.realpath(os.path.dirname(path)) != os.path.realpath(dest):
                    found.append((os.path.relpath(path, source), path))
        return found

    @staticmethod
    def _load(label, path):
        try:
            if os.path.getsize(path) > MAX_PARTIAL_BYTES:
                raise AnsibleActionFail("%s tem mais de %d MiB: não parece um relatório parcial."
                                        % (label, MAX_PARTIAL_BYTES // (1024 * 1024)))
            with open(path, "rb") as handle:
                return json.loads(handle.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise AnsibleActionFail("Não foi possível ler o relatório parcial %s: %s" % (label, to_native(exc)))

    def act(self, result, task_vars):

        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        args = _plain(args)
        if args.get("slice_count") is not None and args["slice_count"] < 1:
            raise AnsibleActionFail("slice_count precisa ser 1 ou mais (o número de fatias do modelo de job).")
        if args["max_age_hours"] < 0:
            raise AnsibleActionFail("max_age_hours precisa ser 0 (sem limite) ou mais.")

        dest = self._absolute(args["dest"])
        sources = [self._absolute(path) for path in args["src"]]

        found = self._find(sources, dest)
        labels = dict((path, label if len(sources) == 1 else path) for label, path in found)
        partials = [(labels[path], self._load(labels[path], path)) for _label, path in found]
        try:
            report = _report_merge.merge(
                partials, expected_hosts=args["expected_hosts"], slice_count=args.get("slice_count"),
                run_id=args.get("run_id"), max_age_hours=args["max_age_hours"])
        except _report_merge.MergeError as exc:
            where = ", ".join(sources)
            result.update(failed=True, changed=False, problems=exc.problems, partials=[label for label, _p in partials],
                          msg="%s (relatórios parciais procurados em %s)" % (exc.message, where))
            return result

        slices = report["slices"]
        where = "Relatório completo gravado em %s a partir de %d relatório(s) parcial(is) (%s)" % (
            dest, len(slices), ", ".join(to_text(s["source"]) for s in slices))
        result.update(publish(report, dest, args, self._loader.path_dwim, where), run=report["run"], slices=slices)
        return result
