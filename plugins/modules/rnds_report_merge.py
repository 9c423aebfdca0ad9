# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by plugins/action/rnds_report_merge.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rnds_report_merge
short_description: Join the partial reports of a sliced audit into one fleet report (JSON, CSV, HTML)
version_added: 0.1.0
description:
  - With job slicing (AWX / Ansible Automation Platform), every slice of the audit writes its own
    C(rnds-report.json) with the hosts of that slice only. This module reads those partial reports
    and writes the full C(rnds-report.json), C(rnds-report.csv) and C(rnds-report.html) in O(dest),
    rendered by the same code as M(esus.rnds.rnds_report).
  - It refuses, with a message in Portuguese and without writing anything, partial reports that do
    not form one complete run. B(Stale) - a partial report of another run (its C(run.id) differs from
    O(run_id), or from the newest run found) or older than O(max_age_hours). B(Overlap) - a host in
    more than one partial report. B(Missing) - a host of O(expected_hosts) in no partial report; the
    message names the missing slice (C(falta a fatia 2 de 3)) and its hosts.
  - Slices are numbered as AWX splits an inventory - hosts ordered by name, slice I of N gets every
    N-th host starting at the I-th. AWX does not tell a job which slice it is, so the partial reports
    do not say it; this module works it out from the hosts.
  - This is an action plugin that runs on the Ansible controller only. It never opens a connection
    to a managed host; call it once (C(run_once=true)), usually from the playbook
    C(esus.rnds.report_merge).
  - The files are written in check mode too, see the C(check_mode) attribute.
options:
  src:
    description:
      - Where the partial reports are. Each item is a C(rnds-report.json) file or a folder; a folder
        gives its own C(rnds-report.json) and the C(rnds-report.json) of each of its subfolders (one
        subfolder per slice job, as C(rnds_report_dir) lays them out in C(docs/awx.md)).
      - A C(rnds-report.json) inside O(dest), or one that is already a merged report, is never taken
        for a partial one.
      - Relative paths are relative to the playbook directory.
    type: list
    elements: path
    required: true
  dest:
    description:
      - Directory on the controller where the full report is written. Created with mode V(0750) when
        missing; files are written atomically with mode V(0640), as by M(esus.rnds.rnds_report).
    type: path
    required: true
  expected_hosts:
    description:
      - Every host the sliced run covered, usually C(ansible_play_hosts_all) of a play on the same
        inventory and limit as the sliced job template. A host listed here but in no partial report
        makes the task fail, naming the slice; a host in a partial report but not listed here too.
      - Empty skips these checks; the merge then only knows the slices it was given.
    type: list
    elements: str
    default: []
  slice_count:
    description:
      - Number of slices (the I(Job Slicing) of the job template).
      - By default it is worked out from where the hosts of each partial report sit in the ordered
        inventory, or else taken as the number of partial reports found. Set it when a whole slice
        may be missing, so the message can name it.
    type: int
  run_id:
    description:
      - Accept only partial reports whose C(run.id) is this value (M(esus.rnds.rnds_report) O(esus.rnds.rnds_report#module:run_id)).
      - By default the newest run found is merged and partial reports of any other run are refused as stale.
    type: str
  max_age_hours:
    description:
      - A partial report generated more than this many hours ago is refused as stale. V(0) disables the check.
    type: int
    default: 24
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
  prometheus_file:
    description:
      - Also write the merged audit as a Prometheus text-format file at this path (see M(esus.rnds.rnds_report)).
    type: path
  zabbix_file:
    description:
      - Also write the merged audit as Zabbix low-level discovery JSON at this path (see M(esus.rnds.rnds_report)).
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
      - The report is an artifact written on the controller, not a change to any managed host, so it
        is written in check mode too, like the report of M(esus.rnds.rnds_report).
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - The task always returns C(changed=false); the same partial reports give the same files.
  platform:
    support: full
    platforms: posix
    details:
      - Runs on the controller only.
  safe_file_operations:
    support: full
notes:
  - C(rnds-report.json) keeps the documented format (C(generated_at), C(hosts), C(summary)); the
    merged one adds C(run) (C(id), C(slice_count), C(merged_at)) and C(slices) (one entry per partial
    report - C(number), C(count), C(source), C(job_id), C(generated_at), C(hosts)).
    C(generated_at) is the newest C(generated_at) of the partial reports.
  - AWX orders hosts with the database collation, this module with Python's code point order. For
    host names in lower case letters, digits, C(-) and C(.) both agree; otherwise the slice
    I(number) in a message may differ from AWX's, but the hosts listed are exact.
seealso:
  - module: esus.rnds.rnds_report
author:
  - esus.rnds maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Join the partial reports of every slice job into one report (last node of the AWX workflow)
  esus.rnds.rnds_report_merge:
    src: "{{ rnds_report_parts_dir }}"
    dest: /var/lib/rnds-reports/completo
    expected_hosts: "{{ ansible_play_hosts_all }}"
    slice_count: 3
  run_once: true
  delegate_to: localhost

- name: Join three partial reports given one by one, only of run 4711, at most 6 hours old
  esus.rnds.rnds_report_merge:
    src:
      - reports/fatia1/rnds-report.json
      - reports/fatia2/rnds-report.json
      - reports/fatia3/rnds-report.json
    dest: reports/completo
    run_id: "4711"
    max_age_hours: 6
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
dest:
  description: Directory where the files were written (absolute).
  returned: success
  type: str
  sample: /var/lib/rnds-reports/completo
paths:
  description: Absolute path of each file written, by format.
  returned: success
  type: dict
  sample:
    json: /var/lib/rnds-reports/completo/rnds-report.json
    csv: /var/lib/rnds-reports/completo/rnds-report.csv
    html: /var/lib/rnds-reports/completo/rnds-report.html
generated_at:
  description: The newest C(generated_at) of the partial reports, ISO 8601 UTC.
  returned: success
  type: str
  sample: "2026-03-10T05:12:40Z"
run:
  description: The run merged.
  returned: success
  type: dict
  contains:
    id:
      description: C(run.id) of the partial reports (null when they have none).
      type: str
    slice_count:
      description: Number of slices used to name them.
      type: int
    merged_at:
      description: When the merge ran, ISO 8601 UTC.
      type: str
  sample:
    id: "4711"
    slice_count: 3
    merged_at: "2026-03-10T05:13:02Z"
slices:
  description: One entry per partial report merged, in slice order.
  returned: success
  type: list
  elements: dict
  contains:
    number:
      description: Slice number (1-based) worked out from the hosts; null without O(expected_hosts).
      type: int
    count:
      description: Number of slices.
      type: int
    source:
      description: The partial report, relative to O(src) when O(src) is a single folder.
      type: str
    job_id:
      description: C(run.job_id) of the partial report (the AWX job), or null.
      type: str
    generated_at:
      description: When the partial report was generated, ISO 8601 UTC.
      type: str
    hosts:
      description: Number of hosts in the partial report.
      type: int
  sample:
    - {number: 1, count: 3, source: 4713/rnds-report.json, job_id: "4713", generated_at: "2026-03-10T05:12:31Z", hosts: 334}
summary:
  description: Counts over the full report (the same C(summary) as in C(rnds-report.json), see M(esus.rnds.rnds_report)).
  returned: success
  type: dict
  sample:
    hosts_total: 1000
    ok: 990
    warning: 8
    error: 2
problems:
  description: Why the partial reports could not be joined, one sentence (pt-BR) each.
  returned: failure
  type: list
  elements: str
  sample:
    - "falta a fatia 2 de 3 (host(s) pec-02, pec-05, pec-08): nenhum relatório parcial a cobre"
partials:
  description: The partial reports found, when they could not be joined.
  returned: failure
  type: list
  elements: str
  sample: [4712/rnds-report.json, 4714/rnds-report.json]
msg:
  description: Summary in Portuguese, or why nothing was written.
  returned: always
  type: str
  sample: "Relatório completo gravado em /var/lib/rnds-reports/completo a partir de 3 relatório(s) parcial(is) ..."
"""
