# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets never leak: every playbook, -vvvv, diff, check and failing on purpose.

One fleet of five simulated PEC servers (ansible_connection local, simulators on 127.0.0.1):
one healthy, and one per deliberate failure (wrong certificate password, wrong admin password,
expired certificate, PEC down). Passwords are testca.HARD_PASSWORD variants (quotes, ``$``,
``;``, backticks, accents) with a unique core. site, audit (with the RNDS token proof against
the mock), rotate and disable run at -vvvv, in check and diff mode, while a thread samples the
command line of every process. Then the output of every run, every file the runs could have
left (install dirs, reports, HOME with ~/.ansible/tmp, TMPDIR, the inventory) and every sampled
command line are searched for each secret in raw, JSON-escaped, shell-quoted, repr, base64,
hex and latin-1 form, and for its unique core.
"""

from __future__ import annotations

import datetime
import json
import os

import hardening_lab
import testca


def _expired_leaf(test_ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    return test_ca.issue_ecnpj(not_before=now - datetime.timedelta(days=400), days=-10)


def test_no_secret_in_output_files_or_command_lines(lab, test_ca):
    ok = lab.add_host("pec-ok")
    certpw = lab.add_host("pec-certpw", ibge="3304557")
    adminpw = lab.add_host("pec-adminpw", ibge="3106200")
    lab.add_host("pec-expired", ibge="4106902", leaf=_expired_leaf(test_ca))
    down = lab.add_host("pec-down", ibge="2304400")
    # deliberate mistakes in the inventory, as hostile as the real passwords
    wrong_cert, core = hardening_lab.password("wrongcert")
    certpw.inventory_cert_password = wrong_cert
    lab.secrets.add("senha de certificado errada", wrong_cert, core)
    wrong_admin, core = hardening_lab.password("wrongadmin")
    adminpw.inventory_admin_password = wrong_admin
    lab.secrets.add("senha de administrador errada", wrong_admin, core)
    # plain testca.HARD_PASSWORD too, as certificate password of the healthy host's next certificate
    lab.secrets.add("HARD_PASSWORD", testca.HARD_PASSWORD)
    down.sim.stop()
    down.vars["rnds_pec_retries"] = 0
    lab.start_mock_rnds()
    lab.group_vars.update(rnds_audit_auth=True, rnds_enable_verify_auth=True)

    runs = []
    with hardening_lab.CmdlineSampler(lab.secrets) as sampler:
        runs.append(("site --check --diff", lab.run("site.yml", "-vvvv", "--check", "--diff")))
        runs.append(("site --diff", lab.run("site.yml", "-vvvv", "--diff")))
        runs.append(("audit --check", lab.run("audit.yml", "-vvvv", "--check")))
        # the JSON callback prints every registered result, the report task's arguments included
        json_callback = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
        runs.append(("audit json", lab.run("audit.yml", "-vvvv", "--check", env_extra=json_callback)))
        # rotation of the healthy host to a new file whose password is testca.HARD_PASSWORD itself
        new_source = os.path.join(lab.certs, "fms-3550308-novo.pfx")
        testca.write_pkcs12(new_source, test_ca.issue_ecnpj(), testca.HARD_PASSWORD, flavour="legacy-rc2")
        old_name = ok.cert_name
        ok.vars.update(rnds_certificate_src=new_source, rnds_certificate_name="fms-3550308-novo.pfx")
        ok.inventory_cert_password = testca.HARD_PASSWORD
        runs.append(("rotate --check --diff", lab.run("rotate.yml", "-vvvv", "--check", "--diff")))
        runs.append(("rotate --diff", lab.run("rotate.yml", "-vvvv", "--diff")))
        runs.append(("disable --check --diff", lab.run("disable.yml", "-vvvv", "--check", "--diff", "--limit", "pec-ok")))
        runs.append(("disable", lab.run("disable.yml", "-vvvv", "--diff", "--limit", "pec-ok:pec-adminpw")))

    # the runs did what they should: the test is not vacuous
    site = dict(runs)["site --diff"]
    assert site.recap["pec-ok"]["failed"] == 0, site.output
    for host in ("pec-certpw", "pec-adminpw", "pec-expired", "pec-down"):
        assert site.recap[host]["failed"] == 1, (host, site.output)
    # each host failed for its own reason, said in its own failure message
    failures = hardening_lab.failure_messages(site.output)
    expected = {"pec-certpw": "Senha do certificado incorreta",
                "pec-expired": "expirou em",
                # refused once (check run), then never sent again: the controller remembers
                "pec-adminpw": "já foi recusada pelo PEC deste host",
                "pec-down": "PEC não responde em %s" % down.sim.url}
    for host, fragment in expected.items():
        assert any(fragment in message for message in failures.get(host, [])), (host, fragment, failures)
    assert any("login recusado para o CPF %s" % adminpw.admin_cpf in message
               for message in hardening_lab.failure_messages(dict(runs)["site --check --diff"].output)["pec-adminpw"])
    assert all("<pec-ok> EXEC" in proc.output for _label, proc in runs)  # -vvvv shows the connection
    assert '"plays"' in dict(runs)["audit json"].stdout
    rotate = dict(runs)["rotate --diff"]
    assert rotate.recap["pec-ok"]["failed"] == 0, rotate.output
    assert sorted(os.listdir(ok.chaves)) == ["fms-3550308-novo.pfx"] and old_name not in os.listdir(ok.chaves)
    assert not ok.state()["habilitado"]  # the last run disabled it
    assert len(lab.mock.tokens()) >= 2  # enable verification and audit both got a token

    lab.add_runtime_secrets()
    # the installation's contra-chave of every PEC (state.json, top level), with and without hyphens
    contra_chaves = [label for label, _value in lab.secrets.items if label.startswith("contra chave")]
    assert len(contra_chaves) == 2 * len(lab.hosts), contra_chaves
    n_secrets, n_forms = lab.secrets.count()
    assert n_secrets >= 15  # passwords, contra chaves and tokens
    leaks = []
    for label, proc in runs:
        leaks += [(label, found) for found in lab.secrets.find(proc.output)]
    files, n_files = lab.scan_files()
    leaks += files
    leaks += sampler.leaks
    with open(os.path.join(lab.reports, "rnds-report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    assert {h["host"] for h in report["hosts"]} == set(lab.hosts)
    assert n_files >= 10 and sampler.samples >= 50 and len(sampler.processes_seen) >= 20
    print("hardening/secrets: %d secrets, %d forms, %d runs, %d files, %d cmdline samples, %d processes"
          % (n_secrets, n_forms, len(runs), n_files, sampler.samples, len(sampler.processes_seen)))
    print(", ".join("%s %.1fs" % (label, proc.elapsed) for label, proc in runs))
    assert leaks == []
