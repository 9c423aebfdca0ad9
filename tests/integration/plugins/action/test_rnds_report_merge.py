# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rnds_report_merge action plugin through real ansible-playbook runs (playbooks/report_merge.yml)."""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.esus.rnds.plugins.plugin_utils import _report

HOSTS = ["pec-%02d" % number for number in range(1, 8)]
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))


def write_partial(directory, hosts, run_id="900", hours_ago=0.1):
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours_ago)
    entries = []
    for host in hosts:
        entry = _report.evaluate_host(host, None, None, None, None, now=now)
        entry.update(status="ok", reachable=True, problems=[], problem_details=[])
        entries.append(entry)
    report = _report.build_report(entries, now=now)
    report["run"] = {"id": run_id, "job_id": os.path.basename(directory)}
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "rnds-report.json"), "w", encoding="utf-8") as handle:
        handle.write(_report.render_json(report))


def run_merge(run_ansible, tmp_path, parts, dest, *args):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": dict((h, {}) for h in HOSTS)}}), encoding="utf-8")
    return run_ansible("ansible-playbook", "-i", inventory, os.path.join(REPO, "playbooks", "report_merge.yml"),
                       "-e", "rnds_report_parts_dir=%s" % parts, "-e", "rnds_report_dir=%s" % dest, *args)


def test_merge_playbook_in_check_mode_then_refuses_a_stale_slice(run_ansible, tmp_path):
    parts = tmp_path / "relatorios" / "900"
    for number in (1, 2, 3):
        write_partial(str(parts / str(910 + number)), HOSTS[number - 1::3])
    # the full report inside the parts folder: never taken for a partial one on the next merge
    dest = parts / "completo"
    proc = run_merge(run_ansible, tmp_path, parts, dest, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(dest / "rnds-report.json", encoding="utf-8") as handle:
        merged = json.load(handle)
    assert [h["host"] for h in merged["hosts"]] == HOSTS
    assert [(s["number"], s["source"]) for s in merged["slices"]] == [
        (1, "911/rnds-report.json"), (2, "912/rnds-report.json"), (3, "913/rnds-report.json")]
    assert os.path.exists(dest / "rnds-report.csv") and os.path.exists(dest / "rnds-report.html")
    assert oct(os.stat(dest / "rnds-report.json").st_mode & 0o777) == "0o640"
    assert "changed=0" in proc.stdout
    before = (dest / "rnds-report.json").read_bytes()

    # yesterday's report of slice 2 left behind, next to today's
    write_partial(str(parts / "850"), HOSTS[1::3], run_id="850", hours_ago=20)
    proc = run_merge(run_ansible, tmp_path, parts, dest, "-e", "rnds_report_slice_count=3")
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "o relatório parcial 850/rnds-report.json é de outra execução (850," in out, out
    assert "não da execução 900" in out and "nada foi gravado" in out
    assert (dest / "rnds-report.json").read_bytes() == before

    # only run 850 asked for: today's slices are the stale ones, and slices 1 and 3 are missing
    proc = run_merge(run_ansible, tmp_path, parts, dest, "-e", "rnds_report_run_id=850", "-e", "rnds_report_slice_count=3")
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0 and "falta a fatia 1 de 3 (host(s) pec-01, pec-04, pec-07)" in out, out
    assert "falta a fatia 3 de 3 (host(s) pec-03, pec-06)" in out


def test_merge_also_writes_the_monitoring_files(run_ansible, tmp_path):
    """The merged report feeds Prometheus/Zabbix like an unsliced audit (the same writer)."""
    from prometheus_client.parser import text_string_to_metric_families  # pylint: disable=import-outside-toplevel

    parts = tmp_path / "relatorios" / "900"
    for number in (1, 2, 3):
        write_partial(str(parts / str(910 + number)), HOSTS[number - 1::3])
    dest = tmp_path / "completo"
    prom, lld = tmp_path / "mon" / "rnds.prom", tmp_path / "mon" / "rnds-lld.json"
    proc = run_merge(run_ansible, tmp_path, parts, dest, "-e", "rnds_report_prometheus_file=%s" % prom,
                     "-e", "rnds_report_zabbix_file=%s" % lld)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    families = dict((f.name, f) for f in text_string_to_metric_families(prom.read_text(encoding="utf-8")))
    assert "rnds_audit_timestamp_seconds" in families
    # every host of the three slices, each with its status (0 ok)
    statuses = dict((s.labels["host"], s.value) for s in families["rnds_audit_host_status"].samples)
    assert statuses == dict((host, 0) for host in HOSTS)
    assert oct(prom.stat().st_mode & 0o777) == "0o644"
    assert json.loads(lld.read_text(encoding="utf-8"))["audit"]["timestamp_seconds"] > 0
