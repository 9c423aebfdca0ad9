# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by plugins/action/rnds_report.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rnds_report
short_description: Write the RNDS fleet report (JSON, CSV, HTML) on the controller
version_added: 0.1.0
description:
  - Turns the per-host results of the audit (M(esus.rnds.pec_info), M(esus.rnds.pec_rnds_info) and,
    optionally, M(esus.rnds.rnds_auth)) into C(rnds-report.json), C(rnds-report.csv) and
    C(rnds-report.html) in O(dest), in Portuguese, with every problem said in words and what to do about it.
  - This is an action plugin that runs on the Ansible controller only. It never runs anything on a
    managed host and never opens a connection; call it once per play (C(run_once=true)) with the
    results of all hosts, usually built from C(hostvars).
  - Hosts for which nothing was collected (unreachable, or the audit failed before the probes) are
    reported as errors, so one failing server never hides the others.
  - The problems detected, their severity and the fields of each file are described in the
    collection's C(docs/report.md).
  - The files are written in check mode too, see the C(check_mode) attribute.
options:
  results:
    description:
      - Raw audit results to evaluate, one dict per host, with the keys C(host) (required, the
        inventory name), C(pec_info), C(rnds_info), C(auth) (the registered results of
        M(esus.rnds.pec_info), M(esus.rnds.pec_rnds_info) and M(esus.rnds.rnds_auth); each may be
        null, skipped, failed (C(failed)/C(msg)) or a loop result) and C(expected).
      - C(auth) may also be a list of M(esus.rnds.rnds_auth) results, one per municipality, each carrying the
        C(ibge) and C(certificate_name) it tested (a loop result whose C(item) has them works the same); a failed
        test is then reported on its municipality.
      - C(expected) describes what the inventory says. Keys (all optional) C(certificate_name),
        C(min_days_remaining) (default V(30)), C(expected_cnpj), C(requester_id), C(services)
        (default V([rnds])), C(report_contra_chave) (default V(false)), C(certificates) (dict file
        name -> M(esus.rnds.pkcs12_info) result, used for the CNPJ and validity when known) and
        C(municipios), a list of dicts with C(ibge), C(nome), C(certificate_name), C(requester_id),
        C(expected_cnpj), C(services) (missing keys fall back to the host-level values).
      - Only the keys listed here are read; anything else (for example passwords) is ignored and
        never written to the report.
      - Mutually exclusive with O(hosts); one of them is required.
    type: list
    elements: dict
  hosts:
    description:
      - Host entries already evaluated (the C(hosts) list of a previous C(rnds-report.json)), to
        render again. Each needs at least C(host) and C(status).
      - Mutually exclusive with O(results).
    type: list
    elements: dict
  all_hosts:
    description:
      - Names of every host that should appear in the report, usually C(ansible_play_hosts_all).
        A host listed here but absent from O(results) or O(hosts) (unreachable, or failed before the
        audit collected anything) is reported with status C(error) and a problem saying so.
    type: list
    elements: str
    default: []
  dest:
    description:
      - Directory on the controller where the files are written. Created with mode V(0750) when
        missing. Relative paths are relative to the playbook directory, as for M(ansible.builtin.fetch).
      - Files are written atomically (temporary file in O(dest), then renamed) with mode V(0640).
    type: path
    required: true
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
  fail_on:
    description:
      - After writing the files, fail the task (message in Portuguese listing the hosts) when at
        least one host has this status or a worse one.
      - V(none) never fails because of the findings.
    type: str
    choices: [none, warning, error]
    default: none
  run_id:
    description:
      - Identifier of the run this report belongs to (for example AWX's C(awx_workflow_job_id), the same
        in every slice of a sliced job). Written as C(run.id) in C(rnds-report.json).
      - M(esus.rnds.rnds_report_merge) joins only partial reports of one run and refuses the others as stale.
      - When neither O(run_id) nor O(job_id) is given, the JSON file has no C(run) key.
    type: str
  job_id:
    description:
      - Identifier of the job that wrote this report (for example AWX's C(awx_job_id)). Written as
        C(run.job_id) in C(rnds-report.json), to name the slice in the messages of
        M(esus.rnds.rnds_report_merge).
    type: str
  prometheus_file:
    description:
      - Also write the audit as a Prometheus text-format file at this path on the controller, for
        node_exporter's textfile collector (the file name must end in C(.prom)). Not written when
        unset.
      - Metrics (all gauges) C(rnds_certificate_days_remaining{host,ibge,municipio}),
        C(rnds_enabled{host,ibge,municipio}), C(rnds_audit_host_status{host}) (0 ok, 1 warning,
        2 error), C(rnds_audit_problems{severity}) and C(rnds_audit_timestamp_seconds).
      - Written atomically with mode V(0644) (the exporter runs as another user; the file holds no
        secret); a missing parent directory is created with mode V(0755).
    type: path
  zabbix_file:
    description:
      - Also write the audit as Zabbix low-level discovery JSON at this path on the controller. Not
        written when unset.
      - C(data) has one object per municipality with the macros C({#HOST}), C({#IBGE}),
        C({#MUNICIPIO}), the same under plain names (C(host), C(ibge), C(municipio), for JSONPath
        filters) and the values C(certificate_days_remaining), C(enabled) and
        C(host_status); C(audit) has C(timestamp_seconds) and C(problems) by severity. The
        collection's C(docs/report.md) shows the discovery rule and item prototypes.
      - Written like O(prometheus_file).
    type: path
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.files
  - esus.rnds.attributes.flow
  - esus.rnds.attributes.platform
attributes:
  action:
    support: full
  async:
    support: none
  check_mode:
    support: full
    details:
      - The report is an artifact written on the controller, not a change to any managed host, so
        it is written in check mode too; this is what makes an audit in check mode useful.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - The task always returns C(changed=false). The report files are outputs of the audit, like
        a log, not managed state; C(generated_at) and the days remaining change on every run, so
        reporting a change would make every audit look like it changed something.
  platform:
    support: full
    platforms: posix
    details:
      - Runs on the controller only; the managed hosts may be Linux or Windows.
  safe_file_operations:
    support: full
notes:
  - Dates in the CSV and HTML files use the C(dd/mm/aaaa) format and the America/Sao_Paulo time zone;
    the JSON file keeps ISO 8601 UTC.
  - The CSV file is meant for spreadsheets in Portuguese, separated by C(;), UTF-8 with BOM, and
    cells that start with C(=), C(+), C(-) or C(@) are prefixed with C(') (formula injection guard).
  - The HTML file is a single self-contained page (no external reference at all), that can be
    sent by e-mail or opened from a shared folder.
seealso:
  - module: esus.rnds.rnds_report_merge
  - module: esus.rnds.pec_info
  - module: esus.rnds.pec_rnds_info
  - module: esus.rnds.rnds_auth
author:
  - esus.rnds maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: On each host, keep what the audit found (registered results of the probes)
  ansible.builtin.set_fact:
    rnds_audit_result:
      host: "{{ inventory_hostname }}"
      pec_info: "{{ pec_info_result | default(none) }}"
      rnds_info: "{{ pec_rnds_info_result | default(none) }}"
      auth: "{{ rnds_auth_result | default(none) }}"
      expected:
        certificate_name: "{{ rnds_certificate_name | default('') }}"
        min_days_remaining: "{{ rnds_min_days_remaining | default(30) }}"

- name: Write the fleet report once; hosts that sent nothing are reported as errors
  esus.rnds.rnds_report:
    dest: "{{ rnds_report_dir }}"
    all_hosts: "{{ ansible_play_hosts_all }}"
    results: >-
      {{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('rnds_audit_result', 'defined')
         | map(attribute='rnds_audit_result') | list }}
  run_once: true

- name: Build the input explicitly and fail when any host has an error
  esus.rnds.rnds_report:
    dest: reports
    fail_on: error
    results:
      - host: pec-campinas
        pec_info: "{{ hostvars['pec-campinas'].pec_info_result | default(none) }}"
        rnds_info: "{{ hostvars['pec-campinas'].pec_rnds_info_result | default(none) }}"
        auth: "{{ hostvars['pec-campinas'].rnds_auth_result | default(none) }}"
        expected:
          certificate_name: fms-campinas.pfx
          min_days_remaining: 30
          expected_cnpj: 12.345.678/0001-95
          requester_id: "{{ hostvars['pec-campinas'].rnds_requester_id }}"
  run_once: true

- name: Render an existing JSON report again, as CSV only
  esus.rnds.rnds_report:
    dest: reports/again
    formats: [csv]
    hosts: "{{ (lookup('ansible.builtin.file', 'reports/rnds-report.json') | from_json).hosts }}"
  run_once: true
"""

RETURN = r"""
dest:
  description: Directory where the files were written (absolute).
  returned: success
  type: str
  sample: /srv/ansible/reports
paths:
  description:
    - Absolute path of each file written, by format; C(prometheus) and C(zabbix) when
      O(prometheus_file) and O(zabbix_file) are set.
  returned: success
  type: dict
  sample:
    json: /srv/ansible/reports/rnds-report.json
    csv: /srv/ansible/reports/rnds-report.csv
    html: /srv/ansible/reports/rnds-report.html
    prometheus: /var/lib/prometheus/node-exporter/rnds.prom
generated_at:
  description: When the report was generated, ISO 8601 UTC.
  returned: success
  type: str
  sample: "2026-03-10T15:30:00Z"
summary:
  description: Counts over the report (the same C(summary) as in C(rnds-report.json)).
  returned: success
  type: dict
  contains:
    hosts_total:
      description: Number of hosts in the report.
      type: int
    ok:
      description: Hosts with status C(ok).
      type: int
    warning:
      description: Hosts with status C(warning).
      type: int
    error:
      description: Hosts with status C(error).
      type: int
    municipios_total:
      description: Number of municipalities in the report.
      type: int
    municipios_ok:
      description: Municipalities with status C(ok).
      type: int
    municipios_warning:
      description: Municipalities with status C(warning).
      type: int
    municipios_error:
      description: Municipalities with status C(error).
      type: int
    rnds_enabled_hosts:
      description: Hosts on which every municipality is enabled for every expected service.
      type: int
    rnds_enabled_municipios:
      description: Municipalities enabled for every expected service.
      type: int
    expiring_30:
      description: Municipalities whose certificate expires in less than 30 days (not yet expired).
      type: int
    expired:
      description: Municipalities whose certificate has expired.
      type: int
    unreachable:
      description: Hosts whose PEC could not be reached (or from which nothing was collected).
      type: int
  sample:
    hosts_total: 3
    ok: 1
    warning: 1
    error: 1
    municipios_total: 4
    municipios_ok: 1
    municipios_warning: 1
    municipios_error: 2
    rnds_enabled_hosts: 2
    rnds_enabled_municipios: 3
    expiring_30: 1
    expired: 0
    unreachable: 1
failed_hosts:
  description: Hosts at or above O(fail_on), when the task failed because of them.
  returned: when O(fail_on) made the task fail
  type: list
  elements: str
  sample: [pec-jundiai]
msg:
  description: Summary in Portuguese, or the failure message listing the hosts at or above O(fail_on).
  returned: always
  type: str
  sample: "Relatório gravado em /srv/ansible/reports: 3 host(s) — ok 1, aviso 1, erro 1; 3 de 4 município(s) habilitado(s) no RNDS."
"""
