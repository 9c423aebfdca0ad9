# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's path, as a state IT team walks it: a spreadsheet (CSV) of four municipalities on
three PEC servers (one multimunicipal), one ansible-vault encrypted ``secrets/<ibge>.yml`` per
municipality, certificates in ``certificados/``, and the playbooks of ``playbooks/`` run for real
against simulated PECs on 127.0.0.1 (``ansible_connection: local``).

Each test changes one thing (a missing secret, a wrong password, a .cer in the CSV...) and reads
what the operator reads: the console and the report.
"""

from __future__ import annotations

import json
import os
import pwd
import grp
import re
import subprocess
import sys

import testca

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "pec_simulator"))

from harness import Simulator, cpf  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOKS = os.path.join(REPO, "playbooks")
VAULT_PASSWORD = "cofre-da-equipe-estadual"
RECAP_RE = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                      r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)"
                      r"\s+ignored=(?P<ignored>\d+)", re.M)
HEADER = ("Município;UF;Código IBGE;CNPJ do FMS;Host;SO;Identificador do solicitante;Certificado;"
          "Multimunicipal")

# host -> [(município, UF, IBGE, CNPJ, identificador)]
FLEET = {
    "pec-campinas": [("Campinas", "SP", "3509502", "12345678000195", "4507")],
    "pec-juizdefora": [("Juiz de Fora", "MG", "3136702", "11222333000181", "4508")],
    "pec-consorcio": [("Canoas", "RS", "4304606", "60701190000104", "4509"),
                      ("Novo Hamburgo", "RS", "4313409", "76535764000143", "4510")],
}


def recap(output):
    return dict((m.group("host"), dict((k, int(v)) for k, v in m.groupdict().items() if k != "host"))
                for m in RECAP_RE.finditer(output))


class Municipio:
    def __init__(self, lab, host, nome, uf, ibge, cnpj, requester_id, seed):
        self.host = host
        self.nome = nome
        self.uf = uf
        self.ibge = ibge
        self.cnpj = cnpj
        self.requester_id = requester_id
        self.admin_user = cpf(seed)
        self.admin_password = "Adm1n %s ção $(id)" % ibge
        self.cert_password = "Cert %s Sênha;`x`" % ibge
        self.cert_file = "fms-%s.pfx" % ibge
        self.days = 365
        # what the inventory says; tests change these
        self.csv = {"certificado": self.cert_file, "cnpj": cnpj}
        self.secrets = {
            "rnds_certificate_password": self.cert_password,
            "rnds_pec_admin_user": self.admin_user,
            "rnds_pec_admin_password": self.admin_password,
        }
        self.write_certificate(lab)

    def write_certificate(self, lab, days=None, name=None, password=None):
        leaf = lab.ca.issue_ecnpj(cnpj=self.cnpj, days=days or self.days, name="FMS %s" % self.nome.upper())
        path = os.path.join(lab.certificados, name or self.cert_file)
        testca.write_pkcs12(path, leaf, password or self.cert_password)
        return path


class Lab:
    """The operator's inventory folder plus one simulated PEC per host."""

    def __init__(self, root, test_ca, base_env):
        self.root = str(root)
        self.ca = test_ca
        self.inventory = os.path.join(self.root, "estado")
        self.certificados = os.path.join(self.inventory, "certificados")
        self.secrets_dir = os.path.join(self.inventory, "secrets")
        self.reports = os.path.join(self.root, "reports")
        for path in (self.certificados, self.secrets_dir, os.path.join(self.inventory, "host_vars"),
                     os.path.join(self.inventory, "group_vars")):
            os.makedirs(path, exist_ok=True)
        self.vault_password_file = os.path.join(self.root, "vault-password.txt")
        with open(self.vault_password_file, "w", encoding="utf-8") as handle:
            handle.write(VAULT_PASSWORD + "\n")
        os.chmod(self.vault_password_file, 0o600)
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.group = grp.getgrgid(os.getgid()).gr_name
        self.group_vars = {"rnds_report_dir": self.reports, "rnds_chaves_owner": self.user,
                           "rnds_chaves_group": self.group, "rnds_audit_fail_on": "error"}
        self.host_vars = {}
        self.municipios = {}
        self.sims = {}
        seed = 10
        for host, rows in FLEET.items():
            for row in rows:
                seed += 1
                self.municipios[row[2]] = Municipio(self, host, *row, seed=seed)
        self.env = dict(base_env)
        self.env.update(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_VAULT_PASSWORD_FILE=self.vault_password_file)

    # -- PECs --------------------------------------------------------------------------
    def start(self):
        for host in FLEET:
            install_dir = os.path.join(self.root, "srv", host, "e-SUS")
            os.makedirs(os.path.join(install_dir, "webserver"), exist_ok=True)
            admins = ["%s:%s:%s" % (m.admin_user, m.admin_password, m.ibge)
                      for m in self.municipios.values() if m.host == host]
            ibges = [m.ibge for m in self.municipios.values() if m.host == host]
            sim = Simulator(install_dir, admins=admins, municipios=ibges)
            self.sims[host] = sim.start()
            self.host_vars[host] = {
                "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "rnds_pec_url": sim.url, "rnds_pec_install_dir": install_dir,
            }
        return self

    def stop(self):
        for sim in self.sims.values():
            sim.kill()

    def chaves(self, host):
        return os.path.join(self.sims[host].install_dir, "webserver", "chaves")

    def pec_state(self, ibge):
        host = self.municipios[ibge].host
        return self.sims[host].state()["municipios"][ibge]

    # -- inventory ---------------------------------------------------------------------
    def _vault(self):
        from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel

        return VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])

    def encrypt_string(self, value):
        text = self._vault().encrypt(value).decode("ascii")
        return "!vault |\n" + "".join("  %s\n" % line for line in text.splitlines())

    def csv_lines(self):
        lines = [HEADER]
        for host, rows in FLEET.items():
            for row in rows:
                muni = self.municipios[row[2]]
                lines.append(";".join([muni.nome, muni.uf, muni.ibge, muni.csv["cnpj"], host, "linux",
                                       muni.requester_id, muni.csv["certificado"],
                                       "sim" if len(rows) > 1 else "não"]))
        return lines

    def write_inventory(self, csv_lines=None):
        with open(os.path.join(self.inventory, "rnds.municipios.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: esus.rnds.municipios\ncsv: municipios.csv\nsecrets_dir: secrets\n"
                         "certificates_dir: certificados\n")
        with open(os.path.join(self.inventory, "municipios.csv"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(csv_lines or self.csv_lines()) + "\n")
        for name in os.listdir(self.secrets_dir):
            os.unlink(os.path.join(self.secrets_dir, name))
        for muni in self.municipios.values():
            if muni.secrets is None:
                continue
            with open(os.path.join(self.secrets_dir, muni.ibge + ".yml"), "w", encoding="utf-8") as handle:
                handle.write("---\n")
                for key, value in muni.secrets.items():
                    handle.write("%s: %s" % (key, self.encrypt_string(value) if "password" in key else json.dumps(value) + "\n"))
        with open(os.path.join(self.inventory, "group_vars", "all.yml"), "w", encoding="utf-8") as handle:
            json.dump(self.group_vars, handle, indent=1)
        for host, values in self.host_vars.items():
            with open(os.path.join(self.inventory, "host_vars", host + ".yml"), "w", encoding="utf-8") as handle:
                json.dump(values, handle, indent=1)
        return os.path.join(self.inventory, "rnds.municipios.yml")

    # -- runs --------------------------------------------------------------------------
    def run(self, playbook, *args, env_extra=None, timeout=300, write=True, inventory=None):
        if write:
            self.write_inventory()
        bindir = os.path.dirname(sys.executable)
        cmd = [os.path.join(bindir, "ansible-playbook"), "-i", inventory or os.path.join(self.inventory, "rnds.municipios.yml"),
               os.path.join(PLAYBOOKS, playbook)] + [str(a) for a in args]
        proc = subprocess.run(cmd, env=dict(self.env, **(env_extra or {})), cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        proc.output = proc.stdout + proc.stderr
        proc.recap = recap(proc.stdout)
        return proc

    def report(self):
        with open(os.path.join(self.reports, "rnds-report.json"), encoding="utf-8") as handle:
            return dict((h["host"], h) for h in json.load(handle)["hosts"])

    def report_municipio(self, ibge):
        host = self.report()[self.municipios[ibge].host]
        return next(m for m in host["municipios"] if m["ibge"] == ibge)
