# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: five simulated PEC installations on 127.0.0.1, site.yml twice, audit.yml --check.

Exits non-zero only when the demo does not behave as the README says.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ca"))

import fleet  # noqa: E402  pylint: disable=wrong-import-position
import testca  # noqa: E402  pylint: disable=wrong-import-position

REPO = fleet.REPO
INVENTORY = os.path.join(REPO, "inventories", "demo")
VAULT_PASSWORD_FILE = os.path.join(INVENTORY, "DEMO-vault-password.txt")
BUILD = os.path.join(REPO, "build", "demo")
REPORTS = os.path.join(REPO, "reports")
BIN = os.path.dirname(sys.executable)
# The installed-copy test (tests/infra/install-test.sh) points these at a collection installed
# from the built tarball, so the demo runs without the checkout's plugins, roles and playbooks.
PLAYBOOKS = os.environ.get("ESUS_DEMO_PLAYBOOKS") or os.path.join(REPO, "playbooks")
ANSIBLE_CONFIG = os.environ.get("ESUS_DEMO_ANSIBLE_CONFIG") or os.path.join(REPO, "ansible.cfg")

# name, port, [(ibge, admin user)], the municipality whose admin password the inventory gets wrong
HOSTS = [
    ("pec-saopaulo", 18081, [("3550308", "123.456.780-62")]),
    ("pec-rio", 18082, [("3304557", "234.567.891-73")]),
    ("pec-bh", 18083, [("3106200", "345.678.902-56")]),
    # One person (CPF) administers Curitiba and Porto Alegre: one login, two access selections.
    ("pec-consorcio", 18084, [("4106902", "456.789.013-20"), ("4314902", "456.789.013-20"),
                              ("5300108", "567.890.124-94")]),
    ("pec-fortaleza", 18085, [("2304400", "678.901.235-40")]),
]
# The admin password of each CPF, by the IBGE under which the demo vault keeps it.
PASSWORD_OF = {"4314902": "4106902"}
EXPECTED_FAILED = {"pec-fortaleza"}


def demo_secrets():
    """The admin passwords the simulated PECs know, read from the demo vault."""
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret
    import yaml

    with open(VAULT_PASSWORD_FILE, "rb") as handle:
        secret = VaultSecret(handle.read().strip())
    with open(os.path.join(INVENTORY, "group_vars", "all", "vault.yml"), "rb") as handle:
        plain = VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)]).decrypt(handle.read())
    return yaml.safe_load(plain)["vault_demo_admin_passwords"]


def playbook(name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=ANSIBLE_CONFIG, ANSIBLE_FORCE_COLOR="0",
               ESUS_RNDS_STATE_DIR=os.path.join(BUILD, "controller-state"),
               ANSIBLE_NOCOLOR="1", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(INVENTORY, "hosts.yml"),
           "--vault-password-file", VAULT_PASSWORD_FILE, os.path.join(PLAYBOOKS, name)] + list(extra)
    print("\n$ ansible-playbook -i inventories/demo/hosts.yml playbooks/%s %s" % (name, " ".join(extra)), flush=True)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    sys.stdout.write(proc.stdout)
    print("(%.1f s, código de saída %d)" % (time.monotonic() - started, proc.returncode), flush=True)
    return proc.returncode, fleet.recap(proc.stdout)


def check(condition, message, problems):
    print(("  ok   " if condition else "  FALHA ") + message)
    if not condition:
        problems.append(message)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="make demo",
        description="Demo do esus.rnds: gera certificados de teste (AC de teste), sobe cinco PECs simulados em "
                    "127.0.0.1 (portas %s), roda playbooks/site.yml duas vezes e playbooks/audit.yml --check, e "
                    "grava o relatório em reports/. Termina com código diferente de zero só se o demo não se "
                    "comportar como o README descreve." % ", ".join(str(port) for dummy, port, dummy2 in HOSTS),
        epilog="Para simular a sua própria frota (CNPJ, validade, administradores): docs/simular-frota.md.")
    return parser.parse_args(argv)


def main(argv=None):
    parse_args(argv)
    started = time.monotonic()
    shutil.rmtree(BUILD, ignore_errors=True)
    certs = os.path.join(INVENTORY, "generated", "certs")
    shutil.rmtree(certs, ignore_errors=True)
    testca.build_catalogue(certs, "demo")
    print("Certificados de demonstração gerados em inventories/demo/generated/certs (AC de teste).")
    passwords = demo_secrets()
    specs = []
    for name, port, municipios in HOSTS:
        specs.append(dict(
            name=name, port=port, install_dir=os.path.join(BUILD, name, "e-SUS"),
            admins=[(user, passwords[PASSWORD_OF.get(ibge, ibge)], ibge) for ibge, user in municipios],
            municipios=[(entry[0], "") for entry in municipios],
        ))
    sims = fleet.start_all(specs, os.path.join(BUILD, "logs"))
    print("PECs simulados: " + ", ".join("%s em %s" % (s.name, s.url) for s in sims))
    problems = []
    try:
        rc1, first = playbook("site.yml")
        rc2, second = playbook("site.yml")
        rc3 = playbook("audit.yml", "--check")[0]
    finally:
        fleet.stop_all(sims)
    print("\nConferência do demo:")
    failed = {h for h, s in first.items() if s["failed"] or s["unreachable"]}
    check(failed == EXPECTED_FAILED, "site.yml falhou só em %s (senha de administrador errada de propósito)"
          % ", ".join(sorted(EXPECTED_FAILED)), problems)
    check(rc1 != 0, "site.yml terminou com código diferente de zero por causa dessa falha", problems)
    healthy = [h for h in first if h not in EXPECTED_FAILED]
    check(all(first[h]["changed"] > 0 for h in healthy), "primeira execução: servidores saudáveis alterados", problems)
    check(all(second.get(h, {}).get("changed", 1) == 0 for h in healthy), "segunda execução: changed=0", problems)
    check(rc2 != 0 and {h for h, s in second.items() if s["failed"]} == EXPECTED_FAILED,
          "segunda execução: só %s falha de novo (a senha continua errada)" % ", ".join(sorted(EXPECTED_FAILED)), problems)
    check(rc3 == 0, "audit.yml --check terminou sem erro", problems)
    report_json = os.path.join(REPORTS, "rnds-report.json")
    hosts = {}
    if os.path.exists(report_json):
        with open(report_json, encoding="utf-8") as handle:
            hosts = {h["host"]: h for h in json.load(handle)["hosts"]}
    check(set(hosts) == {entry[0] for entry in HOSTS}, "relatório cobre os cinco servidores", problems)
    if hosts:
        check(hosts["pec-fortaleza"]["status"] == "error", "pec-fortaleza aparece com erro no relatório", problems)
        check(hosts["pec-bh"]["status"] == "warning", "pec-bh aparece com aviso (vence em 10 dias)", problems)
        check(hosts["pec-consorcio"]["rnds_enabled"] and len(hosts["pec-consorcio"]["municipios"]) == 3,
              "pec-consorcio: três municípios habilitados", problems)
    print("\nRelatório: %s (abra no navegador), %s, %s" % (
        os.path.relpath(os.path.join(REPORTS, "rnds-report.html"), os.getcwd()),
        os.path.relpath(os.path.join(REPORTS, "rnds-report.csv"), os.getcwd()),
        os.path.relpath(report_json, os.getcwd())))
    print("Demo concluído em %.0f s." % (time.monotonic() - started))
    if problems:
        print("O demo não se comportou como o README descreve: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
