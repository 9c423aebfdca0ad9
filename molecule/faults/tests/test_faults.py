# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario `faults` (issue 4.6): site.yml over a fleet with a PEC down, a wrong admin password,
a PEC that answers 500 for a while and one that refuses every enable with 500.

The tests run in file order and share the playbook runs (``RUNS``): first run with the faults,
then the faults are fixed and site.yml runs twice more (converges, then changes nothing).
"""

from __future__ import annotations

import json
import os

import pytest

import moltest

OK, DOWN, SENHA, INSTAVEL, ERRO500 = ("rnds-faults-ok", "rnds-faults-down", "rnds-faults-senha",
                                      "rnds-faults-instavel", "rnds-faults-500")
HEALTHY = (OK, INSTAVEL)
FAILING = (DOWN, SENHA, ERRO500)
# What each failing host must tell the operator (pt-BR, actionable).
MESSAGES = {
    DOWN: ["PEC não responde em http://127.0.0.1:8080", "systemctl status e-SUS-PEC", "rnds_pec_url"],
    SENHA: ["login recusado para o usuário admin.recife", "rnds_pec_admin_password", "Administrador Municipal"],
    ERRO500: ["respondeu HTTP 500", "journalctl -u e-SUS-PEC", "3 nova(s) tentativa(s)"],
}
RUNS = {}


def _all_secrets():
    values = set()
    for data in moltest.resolved().values():
        values.update(moltest.secrets_of(data))
    return values


def _assert_no_secret(run):
    output = run.stdout + run.stderr
    for secret in _all_secrets():
        assert secret not in output, "uma senha apareceu na saída do ansible-playbook"


def _assert_deployed_cleanly(host, data):
    """The certificate is in chaves whole (same sha256 as the source), no temporary file left."""
    entries = moltest.snapshot(host)["entries"]
    names = [path.split("/", 2)[2] for path in entries if path.startswith("webserver/chaves/")]
    assert not [n for n in names if moltest.TEMP_FILE.match(n)], names
    for cert in moltest.certificate_names(data):
        entry = entries["webserver/chaves/" + cert]
        assert entry["sha256"] == moltest.manifest()[cert]["sha256"], cert
        assert (entry["owner"], entry["mode"]) == ("root", "0640")


@pytest.fixture(scope="module")
def inventory():
    return moltest.resolved()


def test_first_run_healthy_hosts_finish_and_faulty_hosts_fail_clearly(inventory):
    run = RUNS["first"] = moltest.run_playbook("site.yml")
    assert sorted(run.stats) == sorted(inventory), run.describe()
    assert run.rc != 0, run.describe()
    for host in HEALTHY:
        assert run.failures(host) == 0, run.describe()
        assert run.changed(host) > 0, run.describe()
    for host in FAILING:
        assert run.failures(host) == 1, run.describe()
        messages = run.failed_messages(host)
        assert len(messages) == 1, messages
        for fragment in MESSAGES[host]:
            assert fragment in messages[0], (host, fragment, messages[0])
    _assert_no_secret(run)


def test_the_transient_500s_were_absorbed_by_the_retries():
    faults = moltest.pec_ctl(INSTAVEL, "fault")["faults"]
    assert faults["http500"] == 0, faults
    pec_rnds = [r for _n, a, r in RUNS["first"].results(INSTAVEL) if a == "esus.rnds.pec_rnds"]
    assert len(pec_rnds) == 1 and pec_rnds[0]["changed"] is True, pec_rnds


def test_failed_hosts_are_left_as_they_were(inventory):
    for host in FAILING:
        before = moltest.baseline(host)
        now = moltest.snapshot(host)
        # The PEC state did not move: the host that was enabled still is, with its old certificate.
        assert now["state"] == before["state"], host
        assert moltest.new_audit_lines(host, now["audit"]) == [], host
        # The certificate step ran before the failure: the new file is complete, not half-written.
        _assert_deployed_cleanly(host, inventory[host])
    old = moltest.snapshot(ERRO500)["state"]["municipios"]["3106200"]["servicos"]["RNDS"]
    assert old["habilitado"] is True and old["certificado"] == "antigo-fms-3106200.pfx", old


def test_fix_the_faults_and_converge(inventory):
    # PEC down: start it. HTTP 500 on every enable: clear the fault (docker exec). Wrong admin
    # password: fix it in an override inventory (a host variable beats the group_vars).
    assert moltest.pec_ctl(DOWN, "start")["changed"] is True
    assert moltest.pec_ctl(ERRO500, "fault", '{"clear": true}')["faults"]["http500"] == 0
    correct = inventory[SENHA]["fixture"]["admins"][0]["admin_password"]
    override = moltest.ephemeral("fix-inventory.yml")
    fd = os.open(override, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("all:\n  hosts:\n    %s:\n      rnds_pec_admin_password: %s\n" % (SENHA, json.dumps(correct)))
    RUNS["override"] = override

    run = RUNS["fixed"] = moltest.run_playbook("site.yml", inventories=[override])
    assert run.rc == 0, run.describe()
    for host in inventory:
        assert run.failures(host) == 0, run.describe()
    for host in FAILING:
        assert run.changed(host) > 0, run.describe()
    for host in HEALTHY:
        assert run.changed(host) == 0, run.describe()
    _assert_no_secret(run)


def test_second_run_after_the_fix_changes_nothing(inventory):
    run = moltest.run_playbook("site.yml", inventories=[RUNS["override"]])
    assert run.rc == 0, run.describe()
    for host in inventory:
        assert run.changed(host) == 0, run.describe()


def test_every_host_ends_enabled_with_one_enable_each(inventory):
    files = moltest.manifest()
    for host, data in inventory.items():
        now = moltest.snapshot(host)
        _assert_deployed_cleanly(host, data)
        for entry in data["municipios"]:
            got = now["state"]["municipios"][entry["ibge"]]["servicos"]["RNDS"]
            assert got["habilitado"] is True and got["certificado"] == entry["certificate_name"], (host, got)
            assert got["fingerprintSha256"] == files[entry["certificate_name"]]["fingerprint_sha256"], host
            assert got["identificadorSolicitante"] == entry["requester_id"], host
        new = moltest.new_audit_lines(host, now["audit"])
        assert [(line["action"], line["result"]) for line in new] == [("Habilitar o PEC a acessar RNDS", "sucesso")], (host, new)
