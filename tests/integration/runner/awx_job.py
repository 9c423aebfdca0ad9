# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's playbooks through ansible-runner, with private data dirs laid out as AWX does.

What AWX (and the automation controller of AAP) hands to ansible-runner for a job, reproduced here:

- ``project/``: a copy of the team's repository as ``docs/awx.md`` describes it (``ansible.cfg``,
  ``playbooks/auditoria.yml`` importing ``esus.rnds.audit``, ...). The job runs from it, so its
  ``ansible.cfg`` applies; the collection is found through ``ANSIBLE_COLLECTIONS_PATH``, as in the
  execution environment image.
- ``inventory/hosts``: an executable script printing the inventory as JSON, the way AWX writes it:
  hosts ordered by name and, for slice ``i`` of ``N``, only ``hosts[i-1::N]``. Secrets are the
  ``encrypt_string`` values of the inventory sync (``{"__ansible_vault": ...}``): only ciphertext.
- ``env/extravars``: AWX's own variables (``awx_job_id``, ``awx_workflow_job_id``, ...; AWX sets no
  variable with the slice number) plus the job template's variables.
- ``env/passwords`` + ``env/cmdline``: the vault credential as AWX passes it, ``--ask-vault-pass``
  and the answer to the ``Vault password:`` prompt; ``--check`` for a *Check* job type,
  ``-v``..``-vvvv`` for the verbosity.
- ``env/settings`` and ``env/envvars``: runner settings and the job environment.

Not reproduced: receptor (``ansible-runner transmit | worker | process`` across nodes) and the
container of the execution environment; ``ansible-runner run`` runs the same playbook process.
AWX also keeps the job's stdout only in the events (``suppress_output_file``); here the
``stdout`` file is kept too, so it can be searched as well.

Nothing here is a fixture; ``conftest.py`` builds the fleet with the hardening lab.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BIN = os.path.dirname(sys.executable)
VAULT_PROMPT = r"Vault password:\s*?$"  # the prompt AWX answers for a vault credential without id

# Nine PEC servers; AWX orders them by name: slice 1 of 3 = belem, curitiba, maceio; ...
FLEET = [
    ("pec-belem", "1501402"), ("pec-bh", "3106200"), ("pec-brasilia", "5300108"),
    ("pec-curitiba", "4106902"), ("pec-fortaleza", "2304400"), ("pec-manaus", "1302603"),
    ("pec-maceio", "2704302"), ("pec-rio", "3304557"), ("pec-salvador", "2927408"),
]

PROJECT_CFG = """\
[defaults]
forks = 50
gathering = explicit
interpreter_python = auto_silent

[inventory]
any_unparsed_is_failed = true

[ssh_connection]
pipelining = True
"""

PROJECT_PLAYBOOKS = {
    "auditoria.yml": ("Auditoria RNDS", "esus.rnds.audit"),
    "habilitar.yml": ("Certificado e habilitação RNDS", "esus.rnds.site"),
    "juntar-relatorios.yml": ("Relatório completo a partir das fatias", "esus.rnds.report_merge"),
}


# Not part of the team's project: a positive control for the secret search (prints a password on purpose).
LEAK_CONTROL = """\
---
- name: Controle do teste - mostra uma senha de propósito
  hosts: all
  gather_facts: false
  tasks:
    - name: Senha do administrador, sem no_log
      ansible.builtin.debug:
        msg: "{{ rnds_pec_admin_password }}"
"""


def write_project(path):
    """The team's repository of docs/awx.md: ansible.cfg and playbooks that import the collection's."""
    os.makedirs(os.path.join(path, "playbooks"), exist_ok=True)
    with open(os.path.join(path, "ansible.cfg"), "w", encoding="utf-8") as handle:
        handle.write(PROJECT_CFG)
    for name, (title, playbook) in PROJECT_PLAYBOOKS.items():
        with open(os.path.join(path, "playbooks", name), "w", encoding="utf-8") as handle:
            handle.write("---\n- name: %s\n  ansible.builtin.import_playbook: %s\n" % (title, playbook))
    with open(os.path.join(path, "playbooks", "controle-vazamento.yml"), "w", encoding="utf-8") as handle:
        handle.write(LEAK_CONTROL)
    return path


class Job:
    """One AWX job: its private data dir, the running process, and what runner left in artifacts."""

    def __init__(self, controller, job_id, playbook, pdd):
        self.controller = controller
        self.id = job_id
        self.playbook = playbook
        self.pdd = pdd
        self.proc = None
        self.started = None
        self.elapsed = None
        self.runner_stderr = ""
        self.label = "job %d %s" % (job_id, playbook)

    @property
    def artifacts(self):
        return os.path.join(self.pdd, "artifacts", str(self.id))

    def start(self):
        cmd = [os.path.join(BIN, "ansible-runner"), "run", self.pdd, "-p", "playbooks/" + self.playbook,
               "--ident", str(self.id)]
        self.started = time.monotonic()
        with open(os.path.join(self.pdd, "runner-stderr.log"), "wb") as stderr:
            self.proc = subprocess.Popen(cmd, env=self.controller.process_env(), cwd=self.pdd,  # pylint: disable=consider-using-with
                                         stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL)
        return self

    def poll(self):
        """True once the job ended; its wall time is taken the first time the end is seen."""
        if self.proc.poll() is None:
            return False
        if self.elapsed is None:
            self.elapsed = time.monotonic() - self.started
            with open(os.path.join(self.pdd, "runner-stderr.log"), "r", encoding="utf-8", errors="replace") as handle:
                self.runner_stderr = handle.read()
        return True

    def wait(self, timeout=600):
        self.proc.wait(timeout=timeout)
        self.poll()
        return self

    # -- what runner left ----------------------------------------------------------------
    def read(self, name):
        with open(os.path.join(self.artifacts, name), "r", encoding="utf-8") as handle:
            return handle.read()

    @property
    def rc(self):
        return int(self.read("rc").strip())

    @property
    def status(self):
        return self.read("status").strip()

    @property
    def stdout(self):
        return self.read("stdout")

    def events(self):
        directory = os.path.join(self.artifacts, "job_events")
        out = []
        for name in os.listdir(directory):
            with open(os.path.join(directory, name), "r", encoding="utf-8") as handle:
                out.append(json.load(handle))
        return sorted(out, key=lambda event: event.get("counter", 0))

    def stats(self):
        """The playbook_on_stats event data: ok/changed/failures/dark per host, and artifact_data (set_stats)."""
        found = [e["event_data"] for e in self.events() if e["event"] == "playbook_on_stats"]
        assert len(found) == 1, "%s: %d eventos playbook_on_stats\n%s" % (self.label, len(found), self.describe())
        return found[0]

    def events_text(self):
        return "\n".join(json.dumps(e, ensure_ascii=False) for e in self.events())

    def describe(self):
        try:
            return "rc=%s status=%s\n%s\n%s" % (self.rc, self.status, self.stdout[-6000:], self.runner_stderr[-2000:])
        except OSError as exc:
            return "sem artefatos (%s): %s" % (exc, getattr(self, "runner_stderr", ""))


class Controller:
    """Plays AWX: numbers the jobs, lays out private data dirs, slices the inventory, runs runner."""

    def __init__(self, lab, root, collections_root, vault_password):
        self.lab = lab
        self.root = str(root)
        self.collections_root = str(collections_root)
        self.vault_password = vault_password
        self.project_src = write_project(os.path.join(self.root, "projeto"))
        self.jobs = []
        self.next_id = 4700

    def new_id(self):
        self.next_id += 1
        return self.next_id

    # -- inventory -----------------------------------------------------------------------
    def inventory(self, slice_number=1, slice_count=1):
        """AWX's inventory script data: hosts ordered by name, slice i of N = hosts[i-1::N]."""
        from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel

        vault = VaultLib([("default", VaultSecret(self.vault_password.encode("utf-8")))])

        def encrypted(value):
            return {"__ansible_vault": vault.encrypt(value.encode("utf-8")).decode("ascii")}

        names = sorted(self.lab.hosts)
        if slice_count > 1:
            names = names[slice_number - 1::slice_count]
        hostvars = {}
        for name in names:
            host = self.lab.hosts[name]
            variables = dict(host.vars)
            variables["rnds_certificate_password"] = encrypted(host.inventory_cert_password)
            variables["rnds_pec_admin_password"] = encrypted(host.inventory_admin_password)
            hostvars[name] = variables
        group_vars = dict((k, v) for k, v in self.lab.group_vars.items() if k != "rnds_report_dir")
        return {"all": {"children": ["pec", "ungrouped"], "vars": group_vars}, "pec": {"hosts": names},
                "_meta": {"hostvars": hostvars}}

    # -- environment ---------------------------------------------------------------------
    def process_env(self):
        """Environment of the runner process (the execution node): nothing of the operator's shell."""
        env = {
            "PATH": BIN + os.pathsep + "/usr/local/bin:/usr/bin:/bin",
            "HOME": self.lab.home,
            "TMPDIR": self.lab.tmp,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if "SSL_CERT_FILE" in self.lab.env:
            env["SSL_CERT_FILE"] = self.lab.env["SSL_CERT_FILE"]
        return env

    def envvars(self, job_id, pdd):
        return {
            "ANSIBLE_COLLECTIONS_PATH": self.collections_root,  # the collection inside the EE image
            "ANSIBLE_REMOTE_TEMP": self.lab.env["ANSIBLE_REMOTE_TEMP"],
            "ANSIBLE_FORCE_COLOR": "True",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "AWX_PRIVATE_DATA_DIR": pdd,
            "JOB_ID": str(job_id),
            "INVENTORY_ID": "1",
            "PROJECT_REVISION": "0" * 40,
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    # -- jobs ----------------------------------------------------------------------------
    def job(self, playbook, check=False, verbosity=0, template_vars=None, slice_number=1, slice_count=1,
            workflow_id=None, limit=None, forks=20):
        """Lay out the private data dir of a new job (not started)."""
        job_id = self.new_id()
        pdd = os.path.join(self.root, "jobs", str(job_id))
        shutil.copytree(self.project_src, os.path.join(pdd, "project"))
        for sub in ("inventory", "env"):
            os.makedirs(os.path.join(pdd, sub), mode=0o700)
        script = os.path.join(pdd, "inventory", "hosts")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n"
                         % json.dumps(self.inventory(slice_number, slice_count)))
        os.chmod(script, 0o700)
        extravars = {
            "awx_job_id": job_id, "tower_job_id": job_id,
            "awx_job_launch_type": "workflow" if workflow_id else "manual",
            "awx_job_template_id": 7, "awx_job_template_name": "RNDS – " + playbook,
            "awx_project_revision": "0" * 40, "awx_user_name": "operador",
        }
        if workflow_id:
            extravars.update(awx_workflow_job_id=workflow_id, tower_workflow_job_id=workflow_id,
                             awx_workflow_job_name="RNDS – Auditoria")
        extravars.update(template_vars or {})
        cmdline = ["--ask-vault-pass", "--forks", str(forks)]
        if check:
            cmdline.append("--check")
        if verbosity:
            cmdline.append("-" + "v" * verbosity)
        if limit:
            cmdline += ["--limit", limit]
        files = {
            "extravars": extravars,
            "passwords": {VAULT_PROMPT: self.vault_password},
            "settings": {"job_timeout": 600, "idle_timeout": 300, "pexpect_timeout": 5,
                         "suppress_ansible_output": True},
            "envvars": self.envvars(job_id, pdd),
        }
        for name, content in files.items():
            path = os.path.join(pdd, "env", name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(content, handle, ensure_ascii=False)
        with open(os.path.join(pdd, "env", "cmdline"), "w", encoding="utf-8") as handle:
            handle.write(" ".join(cmdline))
        job = Job(self, job_id, playbook, pdd)
        self.jobs.append(job)
        return job

    def run(self, playbook, **kwargs):
        return self.job(playbook, **kwargs).start().wait()

    def run_sliced(self, playbook, slice_count, template_vars=None, **kwargs):
        """A sliced job template: a workflow of ``slice_count`` jobs started at once. Returns (workflow_id, jobs)."""
        workflow_id = self.new_id()
        jobs = [self.job(playbook, slice_number=number, slice_count=slice_count, workflow_id=workflow_id,
                         template_vars=template_vars, **kwargs) for number in range(1, slice_count + 1)]
        for job in jobs:
            job.start()
        deadline = time.monotonic() + 600
        while True:
            ended = [job.poll() for job in jobs]  # every job polled each round: its own end time
            if all(ended):
                break
            assert time.monotonic() < deadline, "fatias não terminaram em 600 s"
            time.sleep(0.05)
        return workflow_id, jobs

    def artifact_files(self):
        """Every file runner left in the artifacts of every job: (job, path, bytes)."""
        for job in self.jobs:
            for dirpath, _dirs, names in os.walk(job.artifacts):
                for name in names:
                    path = os.path.join(dirpath, name)
                    with open(path, "rb") as handle:
                        yield job, path, handle.read()
