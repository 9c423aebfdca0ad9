# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks under ansible-runner as AWX runs them: site, idempotence, audit in check mode,
job slicing (3 slices at once over 9 hosts), the merge of the slices, and no secret in the job events.

The fleet is nine simulated PECs on 127.0.0.1 (``ansible_connection: local``), built by the hardening
lab; ``awx_job.Controller`` lays out each job's private data dir as AWX does and runs
``ansible-runner run``. Every job is done once, by the module fixture ``runs``, in this order:

1. ``habilitar.yml`` (site) - every host changed;  2. again - changed=0;
3. ``auditoria.yml`` as a *Check* job, unsliced - timed;
4. the same as a sliced job template, 3 slices started together - timed; each slice writes its
   partial report under ``<base>/<workflow>/<job>`` (docs/awx.md) and publishes the folder with set_stats;
5. ``juntar-relatorios.yml`` (merge), with the artifacts of the slices as extra vars (what AWX does
   for the next workflow node): one report, equal to the unsliced one;
6. the merge again with one slice's report gone: fails, naming the slice;
7. ``auditoria.yml`` at -vvvv with the contra chave in the report (passing);
8. wrong admin password for one host and wrong certificate password for another:
   site at -vvvv and the audit (``rnds_audit_fail_on: error``) at verbosity 0, both failing.
Then every file runner left in every job's artifacts is searched for every secret, in every form.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import types

import pytest

import awx_job
import hardening_lab

SLICES = 3


def report(directory):
    with open(os.path.join(directory, "rnds-report.json"), encoding="utf-8") as handle:
        return json.load(handle)


def template_vars(lab, **extra):
    # the job template's Variables, as docs/awx.md writes them (Jinja resolved in the job)
    out = {"rnds_report_dir": os.path.join(lab.reports, "{{ awx_workflow_job_id | default(awx_job_id) }}",
                                           "{{ awx_job_id }}")}
    out.update(extra)
    return out


def assert_ok(job):
    assert job.rc == 0 and job.status == "successful", job.describe()


@pytest.fixture(scope="module")
def runs(awx_fleet):
    lab, awx = awx_fleet
    out = types.SimpleNamespace(lab=lab, awx=awx)
    out.site1 = awx.run("habilitar.yml")
    out.site2 = awx.run("habilitar.yml")
    out.audit = awx.run("auditoria.yml", check=True, template_vars=template_vars(lab))
    out.workflow_id, out.slices = awx.run_sliced("auditoria.yml", SLICES, check=True, template_vars=template_vars(lab))
    out.sliced_wall = max(j.started + j.elapsed for j in out.slices) - min(j.started for j in out.slices)

    # The next workflow node gets the slices' set_stats as extra vars (AWX merges their artifacts).
    artifacts = {}
    for job in out.slices:
        artifacts.update(job.stats().get("artifact_data") or {})
    out.artifacts = artifacts
    merge_vars = dict(artifacts, rnds_report_slice_count=SLICES,
                      rnds_report_dir=os.path.join(lab.reports, "completo", "{{ awx_workflow_job_id }}"))
    out.merge_workflow = awx.new_id()
    out.merge = awx.run("juntar-relatorios.yml", workflow_id=out.merge_workflow, template_vars=merge_vars)

    # a slice whose job never wrote its report: set it aside and merge again
    out.gone = out.slices[1]
    gone_dir = os.path.join(lab.reports, str(out.workflow_id), str(out.gone.id))
    aside = os.path.join(lab.reports, "fora-%d" % out.gone.id)
    shutil.move(gone_dir, aside)
    out.merge_missing = awx.run("juntar-relatorios.yml", workflow_id=awx.new_id(), template_vars=merge_vars)
    shutil.move(aside, gone_dir)

    out.audit_v4 = awx.run("auditoria.yml", check=True, verbosity=4,
                           template_vars=template_vars(lab, rnds_report_contra_chave=True))

    # deliberate mistakes in the inventory, as hostile as the real passwords
    out.bad_admin, out.bad_cert = "pec-curitiba", "pec-rio"
    wrong_admin, core = hardening_lab.password("wrongadmin")
    lab.hosts[out.bad_admin].inventory_admin_password = wrong_admin
    lab.secrets.add("senha de administrador errada", wrong_admin, core)
    wrong_cert, core = hardening_lab.password("wrongcert")
    lab.hosts[out.bad_cert].inventory_cert_password = wrong_cert
    lab.secrets.add("senha de certificado errada", wrong_cert, core)
    out.site_fail_v4 = awx.run("habilitar.yml", verbosity=4)
    out.audit_fail = awx.run("auditoria.yml", check=True, template_vars=template_vars(lab, rnds_audit_fail_on="error"))
    # positive control: a job that prints one admin password, to prove the search finds a leak
    out.control = awx.run("controle-vazamento.yml", limit="pec-bh")
    lab.add_runtime_secrets()  # the contra chaves the PECs generated
    return out


def test_site_idempotent_and_audit_in_check_mode(runs):
    names = set(runs.lab.hosts)
    assert_ok(runs.site1)
    stats = runs.site1.stats()
    assert set(stats["changed"]) == names and not stats["failures"] and not stats["dark"], runs.site1.describe()
    assert_ok(runs.site2)
    stats = runs.site2.stats()
    assert stats["changed"] == {} and set(stats["ok"]) == names, runs.site2.describe()
    for host in runs.lab.hosts.values():
        assert host.state()["habilitado"], host.name
    # the job ran the project's playbook, from the project, with the vault password answered at the prompt
    command = json.loads(runs.site1.read("command"))
    assert command["command"][:2] == ["ansible-playbook", "--ask-vault-pass"] and command["cwd"].endswith("project")

    assert_ok(runs.audit)
    stats = runs.audit.stats()
    assert stats["changed"] == {} and not stats["failures"], runs.audit.describe()
    assert "--check" in json.loads(runs.audit.read("command"))["command"]
    whole = report(os.path.join(runs.lab.reports, str(runs.audit.id), str(runs.audit.id)))
    assert [h["host"] for h in whole["hosts"]] == sorted(names)
    assert all(h["status"] == "ok" and h["rnds_enabled"] for h in whole["hosts"]), whole["hosts"]
    assert whole["run"] == {"id": str(runs.audit.id), "job_id": str(runs.audit.id)}


def test_slices_follow_awx_and_write_partial_reports_where_docs_say(runs):
    ordered = sorted(name for name, _ibge in awx_job.FLEET)
    for number, job in enumerate(runs.slices, 1):
        assert_ok(job)
        stats = job.stats()
        assert sorted(stats["ok"]) == ordered[number - 1::SLICES], (number, stats["ok"])
        part = report(os.path.join(runs.lab.reports, str(runs.workflow_id), str(job.id)))
        assert [h["host"] for h in part["hosts"]] == ordered[number - 1::SLICES]
        assert part["run"] == {"id": str(runs.workflow_id), "job_id": str(job.id)}
        assert stats["artifact_data"] == {"rnds_report_parts_dir": os.path.join(runs.lab.reports, str(runs.workflow_id))}
    print("\nauditoria --check em %d hosts: sem fatias %.1f s; %d fatias ao mesmo tempo %.1f s (cada uma: %s)"
          % (len(ordered), runs.audit.elapsed, SLICES, runs.sliced_wall,
             ", ".join("%.1f s" % j.elapsed for j in runs.slices)))


def test_merge_gives_the_unsliced_report(runs):
    assert_ok(runs.merge)
    assert runs.merge.stats()["changed"] == {}
    dest = os.path.join(runs.lab.reports, "completo", str(runs.merge_workflow))
    merged = report(dest)
    whole = report(os.path.join(runs.lab.reports, str(runs.audit.id), str(runs.audit.id)))

    def essentials(doc):
        return [(h["host"], h["status"], h["rnds_enabled"], h["certificate"], h["days_remaining"], h["problems"])
                for h in doc["hosts"]]

    assert essentials(merged) == essentials(whole)
    assert merged["summary"] == whole["summary"]
    assert merged["run"]["id"] == str(runs.workflow_id) and merged["run"]["slice_count"] == SLICES
    assert [(s["number"], s["job_id"], s["hosts"]) for s in merged["slices"]] == [
        (n, str(j.id), 3) for n, j in enumerate(runs.slices, 1)]
    with open(os.path.join(dest, "rnds-report.csv"), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read()), delimiter=";"))
    assert sorted(row[0] for row in rows[1:]) == sorted(runs.lab.hosts)
    with open(os.path.join(dest, "rnds-report.html"), encoding="utf-8") as handle:
        page = handle.read()
    assert all(name in page for name in runs.lab.hosts) and "9 servidor(es)" in page


def test_merge_names_the_missing_slice(runs):
    job = runs.merge_missing
    assert job.rc != 0 and job.status == "failed", job.describe()
    hosts = sorted(runs.lab.hosts)[1::SLICES]
    expected = "falta a fatia 2 de 3 (host(s) %s)" % ", ".join(hosts)
    assert expected in job.stdout, job.describe()
    failed = [e for e in job.events() if e["event"] == "runner_on_failed"]
    assert len(failed) == 1 and expected in failed[0]["event_data"]["res"]["msg"]
    assert not os.path.exists(os.path.join(runs.lab.reports, "completo", str(job.id - 1)))


def test_no_secret_in_the_job_event_store(runs):
    lab, awx = runs.lab, runs.awx
    # the failing runs failed for the reasons given, so the search below is not vacuous
    site = runs.site_fail_v4
    assert site.rc != 0 and site.status == "failed"
    assert set(site.stats()["failures"]) == {runs.bad_admin, runs.bad_cert}, site.describe()
    assert "login recusado" in site.stdout and "<pec-belem> EXEC" in site.stdout
    audit = runs.audit_fail
    assert audit.rc != 0 and audit.status == "failed", audit.describe()
    assert "fail_on=error" in audit.stdout and runs.bad_admin in audit.stdout
    assert_ok(runs.audit_v4)
    assert "<pec-belem> EXEC" in runs.audit_v4.stdout
    contra = [label for label, _value in lab.secrets.items if label.startswith("contra chave")]
    assert len(contra) >= 2 * len(awx_job.FLEET)  # every PEC has one; the -vvvv audit put them in its report
    part = report(os.path.join(lab.reports, str(runs.audit_v4.id), str(runs.audit_v4.id)))
    assert all(m.get("contra_chave") for h in part["hosts"] for m in h["municipios"])

    n_secrets, n_forms = lab.secrets.count()
    leaks, control, files, events, by_kind = [], set(), 0, 0, {}
    for job, path, data in awx.artifact_files():
        if job is runs.control:
            control.update((os.path.basename(os.path.dirname(path)) if "job_events" in path else os.path.basename(path), label)
                           for label, _form in lab.secrets.find(data))
            continue
        files += 1
        kind = "job_events" if os.sep + "job_events" + os.sep in path else os.path.basename(path)
        by_kind[kind] = by_kind.get(kind, 0) + 1
        events += kind == "job_events"
        leaks += [(job.label, os.path.relpath(path, job.artifacts), label) for label, _form in lab.secrets.find(data)]
    # the control job's password was found, in its events and in its stdout
    assert_ok(runs.control)
    assert control == {("job_events", "senha do administrador de pec-bh"), ("stdout", "senha do administrador de pec-bh"),
                       ("job_events", "senha do administrador de pec-bh (núcleo)"),
                       ("stdout", "senha do administrador de pec-bh (núcleo)")}, control
    assert len(awx.jobs) == 12 and by_kind.get("stdout") == 11 and by_kind.get("command") == 11, by_kind
    assert events > 500
    print("\nevent store: %d jobs (mais o de controle), %d arquivos de artefatos (%s), %d segredos em %d formas"
          % (len(awx.jobs) - 1, files, ", ".join("%s %d" % kv for kv in sorted(by_kind.items())), n_secrets, n_forms))
    assert leaks == []
