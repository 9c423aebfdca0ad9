# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rnds_report action plugin, exercised through real ansible-playbook runs on the controller."""

from __future__ import annotations

import csv
import datetime
import importlib.util
import io
import json
import os
import stat
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
_SAMPLE = os.path.join(ROOT, "tests", "unit", "report", "sample_fleet.py")
_spec = importlib.util.spec_from_file_location("esus_rnds_sample_fleet_action", _SAMPLE)
sf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sf)

SECRET = "S3gr3do-Nao-Vaza-987"
NAMES = ("rnds-report.json", "rnds-report.csv", "rnds-report.html")


@pytest.fixture(scope="module")
def collections_dir(tmp_path_factory):
    """A collections path holding esus.rnds as a link to this tree (no install, no build/ needed)."""
    base = tmp_path_factory.mktemp("collections")
    namespace = base / "ansible_collections" / "esus"
    namespace.mkdir(parents=True)
    os.symlink(ROOT, str(namespace / "rnds"))
    return str(base)


def fleet_results():
    # The plugin evaluates against the real clock: build the fleet relative to it.
    results = sf.fleet(now=datetime.datetime.now(datetime.timezone.utc))
    # Inventory data as the roles pass it: per-municipality passwords must be ignored.
    results[0]["expected"]["municipios"] = [{"ibge": "3509502", "nome": "Campinas", "admin_password": SECRET,
                                             "certificate_password": SECRET}]
    return results


def run(tmp_path, collections_dir, task_args, check=False, inventory=None, extra_tasks=None):
    """Run a one-task playbook on localhost; return (returncode, task result dict, raw output)."""
    (tmp_path / "input.json").write_text(json.dumps({"report_args": task_args}), encoding="utf-8")
    tasks = [{"name": "Write the report", "esus.rnds.rnds_report": "{{ report_args }}", "run_once": True}]
    tasks.extend(extra_tasks or [])
    play = [{"hosts": "all" if inventory else "localhost", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "play.yml").write_text(json.dumps(play), encoding="utf-8")
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": collections_dir,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
    })
    env.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "play.yml", "-e", "@input.json"]
    if inventory:
        (tmp_path / "hosts.ini").write_text(inventory, encoding="utf-8")
        cmd += ["-i", "hosts.ini"]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("ansible-playbook did not print JSON (rc=%d):\n%s" % (proc.returncode, output))
    task = data["plays"][0]["tasks"][0]
    host_results = list(task["hosts"].values())
    assert len(host_results) == 1, output
    return proc.returncode, host_results[0], output


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_every_format_with_safe_modes(tmp_path, collections_dir):
    dest = tmp_path / "relatorios" / "2026"
    rc, result, output = run(tmp_path, collections_dir, {"results": fleet_results(), "dest": str(dest)})
    assert rc == 0, output
    assert result["changed"] is False
    assert result.get("failed") is not True
    assert sorted(os.listdir(str(dest))) == sorted(NAMES)  # no temp file left behind
    assert mode(str(dest)) == 0o750
    for name in NAMES:
        assert mode(str(dest / name)) == 0o640
    assert result["paths"] == dict((fmt, str(dest / ("rnds-report." + fmt))) for fmt in ("json", "csv", "html"))
    report = json.loads((dest / "rnds-report.json").read_text(encoding="utf-8"))
    assert [h["host"] for h in report["hosts"]] == sorted((h["host"] for h in report["hosts"]), key=lambda n: (n.lower(), n))
    assert report["summary"] == result["summary"]
    assert report["summary"]["hosts_total"] == 10 and report["summary"]["error"] == 4
    assert report["summary"]["manual_pending_municipios"] == 1 and report["summary"]["unverified_municipios"] == 2
    assert report["generated_at"].endswith("Z") and report["generated_at"] == result["generated_at"]
    rows = list(csv.reader(io.StringIO((dest / "rnds-report.csv").read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "host" and len(rows) == 13
    assert "Relatório gravado em" in result["msg"]
    # secrets given as inventory data never reach the files or the output
    for name in NAMES:
        assert SECRET not in (dest / name).read_text(encoding="utf-8")
    assert SECRET not in output


def test_rnds_situation_in_every_format(tmp_path, collections_dir):
    """pec_rnds_info results in the module's shape (one state per municipality, status manual_pending, a login
    refused because the admin was using the PEC) become rnds_status, the CSV column and the HTML cell/card."""
    dest = tmp_path / "situacao"
    rc, result, output = run(tmp_path, collections_dir, {"results": fleet_results(), "dest": str(dest)})
    assert rc == 0, output
    report = json.loads((dest / "rnds-report.json").read_text(encoding="utf-8"))
    hosts = dict((h["host"], h) for h in report["hosts"])
    manual = hosts["pec-contrato"]
    assert manual["rnds_status"] == "manual_pending" and manual["status"] == "warning"
    assert manual["municipios"][0]["rnds_status"] == "manual_pending" and manual["municipios"][0]["rnds_enabled"] is None
    assert [p["code"] for p in manual["problem_details"]] == ["manual_pending"]
    session = hosts["pec-sessao-aberta"]
    assert session["rnds_status"] == "unverified" and session["status"] == "warning"
    assert [(p["code"], p["severity"]) for p in session["problem_details"]] == [("not_verified_session", "warning")]
    assert hosts["pec-campinas"]["rnds_status"] == "enabled"
    rows = list(csv.DictReader(io.StringIO((dest / "rnds-report.csv").read_bytes().decode("utf-8-sig")), delimiter=";"))
    situation = dict((r["host"], r["situação RNDS"]) for r in rows if r["host"] in hosts and r["município"])
    assert situation["pec-contrato"] == "habilitação manual pendente"
    assert situation["pec-sessao-aberta"] == "não verificado"
    assert situation["pec-campinas"] == "habilitado"
    page = (dest / "rnds-report.html").read_text(encoding="utf-8")
    assert '<td class="warn" data-sort="">habilitação manual pendente</td>' in page
    assert '<span class="l">habilitação manual pendente</span>' in page


def test_check_mode_still_writes_the_report(tmp_path, collections_dir):
    dest = tmp_path / "check"
    rc, result, output = run(tmp_path, collections_dir, {"results": fleet_results(), "dest": str(dest)}, check=True)
    assert rc == 0, output
    assert result["changed"] is False
    assert sorted(os.listdir(str(dest))) == sorted(NAMES)


def test_second_run_replaces_files_and_reports_no_change(tmp_path, collections_dir):
    dest = tmp_path / "twice"
    args = {"results": fleet_results(), "dest": str(dest), "formats": ["json"]}
    rc, result, output = run(tmp_path, collections_dir, args)
    assert rc == 0, output
    (dest / "rnds-report.json").write_text("velho", encoding="utf-8")
    os.chmod(str(dest / "rnds-report.json"), 0o644)
    os.chmod(str(dest), 0o700)
    rc, result, output = run(tmp_path, collections_dir, args)
    assert rc == 0 and result["changed"] is False, output
    assert json.loads((dest / "rnds-report.json").read_text(encoding="utf-8"))["hosts"]
    assert mode(str(dest / "rnds-report.json")) == 0o640
    assert mode(str(dest)) == 0o700  # an existing directory keeps its mode
    assert os.listdir(str(dest)) == ["rnds-report.json"]


@pytest.mark.parametrize("level,expected_hosts", [
    ("error", ["pec-consorcio-vale", "pec-jundiai", "pec-piracicaba", "pec-sem-ansible"]),
    ("warning", ["<script>alert(1)</script>", "pec-consorcio-vale", "pec-contrato", "pec-jundiai", "pec-piracicaba",
                 "pec-sem-ansible", "pec-sessao-aberta", "pec-sorocaba"]),
])
def test_fail_on_fails_after_writing(tmp_path, collections_dir, level, expected_hosts):
    dest = tmp_path / level
    rc, result, output = run(tmp_path, collections_dir, {"results": fleet_results(), "dest": str(dest), "fail_on": level})
    assert rc != 0, output
    assert result["failed"] is True
    assert result["failed_hosts"] == expected_hosts
    label = {"error": "erro", "warning": "aviso"}[level]
    assert "têm status %s ou pior (fail_on=%s)" % (label, level) in result["msg"]
    for host in expected_hosts:
        assert host in result["msg"]
    for host in ("pec-campinas", "pec-ribeirao"):
        assert host not in result["msg"]
    assert sorted(os.listdir(str(dest))) == sorted(NAMES)  # written before failing


def test_fail_on_none_never_fails(tmp_path, collections_dir):
    args = {"results": fleet_results(), "dest": str(tmp_path / "n"), "fail_on": "none"}
    rc, result, output = run(tmp_path, collections_dir, args)
    assert rc == 0 and "failed_hosts" not in result, output


def test_fail_on_error_passes_on_a_healthy_fleet(tmp_path, collections_dir):
    healthy = [r for r in fleet_results() if r["host"] in ("pec-campinas", "pec-ribeirao")]
    args = {"results": healthy, "dest": str(tmp_path / "h"), "fail_on": "warning"}
    rc, result, output = run(tmp_path, collections_dir, args)
    assert rc == 0, output
    assert result["summary"]["ok"] == 2


def test_all_hosts_reports_hosts_that_sent_nothing(tmp_path, collections_dir):
    healthy = [r for r in fleet_results() if r["host"] == "pec-campinas"]
    dest = tmp_path / "all"
    args = {"results": healthy, "dest": str(dest), "all_hosts": ["pec-campinas", "pec-caiu"]}
    rc, result, output = run(tmp_path, collections_dir, args)
    assert rc == 0, output
    report = json.loads((dest / "rnds-report.json").read_text(encoding="utf-8"))
    caiu = [h for h in report["hosts"] if h["host"] == "pec-caiu"][0]
    assert caiu["status"] == "error" and "Nenhum resultado da auditoria" in caiu["problems"][0]


def test_hosts_option_renders_evaluated_entries_again(tmp_path, collections_dir):
    dummy, report = sf.build()
    dest = tmp_path / "again"
    rc, result, output = run(tmp_path, collections_dir, {"hosts": report["hosts"], "dest": str(dest), "formats": ["csv"]})
    assert rc == 0, output
    assert os.listdir(str(dest)) == ["rnds-report.csv"]
    assert list(result["paths"]) == ["csv"]
    assert result["summary"] == report["summary"]


def test_results_and_hosts_are_mutually_exclusive(tmp_path, collections_dir):
    rc, result, output = run(tmp_path, collections_dir, {"results": [], "hosts": [], "dest": str(tmp_path / "x")})
    assert rc != 0 and "mutually exclusive" in result["msg"], output
    rc, result, output = run(tmp_path, collections_dir, {"dest": str(tmp_path / "x")})
    assert rc != 0 and "one of the following is required" in result["msg"], output
    assert not (tmp_path / "x").exists()


def test_bad_entries_are_refused_in_portuguese(tmp_path, collections_dir):
    rc, result, output = run(tmp_path, collections_dir, {"results": [{"pec_info": None}], "dest": str(tmp_path / "x")})
    assert rc != 0 and "results[0] não tem a chave 'host'" in result["msg"], output
    rc, result, output = run(tmp_path, collections_dir, {"hosts": [{"host": "a", "status": "talvez"}], "dest": str(tmp_path / "x")})
    assert rc != 0 and "hosts[0] não é uma entrada de relatório válida" in result["msg"], output


def test_dest_that_is_a_file_is_refused(tmp_path, collections_dir):
    (tmp_path / "arquivo").write_text("x", encoding="utf-8")
    rc, result, output = run(tmp_path, collections_dir, {"results": [], "dest": str(tmp_path / "arquivo")})
    assert rc != 0 and "não é uma pasta" in result["msg"], output


def test_relative_dest_is_relative_to_the_playbook(tmp_path, collections_dir):
    rc, result, output = run(tmp_path, collections_dir, {"results": [], "dest": "reports"})
    assert rc == 0, output
    assert result["dest"] == str(tmp_path / "reports")
    assert sorted(os.listdir(str(tmp_path / "reports"))) == sorted(NAMES)


def test_never_connects_to_the_managed_host(tmp_path, collections_dir):
    """The task runs for a host whose SSH port is closed: it must not even try to connect."""
    inventory = "pec-remoto ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh ansible_user=ninguem\n"
    rc, result, output = run(tmp_path, collections_dir, {"results": fleet_results()[:1], "dest": str(tmp_path / "r")},
                             inventory=inventory)
    assert rc == 0, output
    assert result.get("unreachable") is not True
    assert (tmp_path / "r" / "rnds-report.html").exists()


def test_monitoring_files_are_opt_in_and_parse(tmp_path, collections_dir):
    from prometheus_client.parser import text_string_to_metric_families

    dest = tmp_path / "rel"
    rc, result, output = run(tmp_path, collections_dir, {"results": fleet_results(), "dest": str(dest), "formats": ["json"]})
    assert rc == 0, output
    assert sorted(result["paths"]) == ["json"]  # nothing else unless asked

    prom = tmp_path / "textfile" / "rnds.prom"   # parent folder created
    lld = tmp_path / "zabbix" / "rnds-lld.json"
    rc, result, output = run(tmp_path, collections_dir, {
        "results": fleet_results(), "dest": str(dest), "formats": ["json"],
        "prometheus_file": str(prom), "zabbix_file": str(lld)}, check=True)
    assert rc == 0, output
    assert result["paths"]["prometheus"] == str(prom) and result["paths"]["zabbix"] == str(lld)
    assert mode(str(prom)) == 0o644 and mode(str(lld)) == 0o644
    assert os.listdir(str(prom.parent)) == ["rnds.prom"]  # no temp file left behind
    families = dict((f.name, f) for f in text_string_to_metric_families(prom.read_text(encoding="utf-8")))
    enabled = dict((s.labels["host"] + "/" + s.labels["ibge"], s.value) for s in families["rnds_enabled"].samples)
    assert enabled["pec-campinas/3509502"] == 1
    report = json.loads((dest / "rnds-report.json").read_text(encoding="utf-8"))
    assert len(enabled) == sum(max(1, len(h["municipios"])) for h in report["hosts"])
    document = json.loads(lld.read_text(encoding="utf-8"))
    assert len(document["data"]) == len(enabled)
    for path in (prom, lld):
        assert SECRET not in path.read_text(encoding="utf-8")


def test_monitoring_file_that_is_a_folder_is_refused(tmp_path, collections_dir):
    folder = tmp_path / "uma-pasta"
    folder.mkdir()
    rc, result, output = run(tmp_path, collections_dir, {"results": fleet_results(), "dest": str(tmp_path / "r"),
                                                         "prometheus_file": str(folder)})
    assert rc != 0
    assert "prometheus_file" in result["msg"] and "é uma pasta" in result["msg"]
