# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults on the PEC side during a fleet run (simulator switches).

Eight simulated PEC servers run site.yml together: two healthy; one slower than the timeout; one
answering HTTP 500; one dropping every connection; one whose session expires between the login
and the mutation; one answering HTTP 500 to the first enable only; and one whose PEC is restarted
in the middle of the run (sessions lost, connections refused for a moment). The healthy ones (and
the ones the client recovers) finish, the others fail with a message that names the problem; the
audit report written while the faults persist names each failure; once the faults are gone the
next run converges and the one after is changed=0; and the audit log of every PEC shows each
municipality enabled exactly once.
"""

from __future__ import annotations

import json
import os
import select
import time

import hardening_lab

ENABLE_TASK = "esus.rnds.enable : Habilitar ou desabilitar a RNDS de cada município no PEC"


def _site_with_restart(lab, host):
    """Run site.yml; restart ``host``'s PEC as soon as the enable task starts. Returns (rc, output)."""
    proc = lab.popen("site.yml")
    output, buffer, restarted = [], b"", False
    while True:
        ready = select.select([proc.stdout], [], [], 0.5)[0]
        if not ready:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", "replace")
            output.append(text)
            match = hardening_lab.TASK_LINE_RE.match(text)
            if match and match.group("name") == ENABLE_TASK and not restarted:
                time.sleep(0.3)  # the login (slowed down) is in flight
                host.sim.restart()
                restarted = True
    proc.stdout.close()
    assert restarted
    return proc.wait(), "\n".join(output + [buffer.decode("utf-8", "replace")])


def test_pec_faults_in_a_fleet_run(lab):
    hosts = dict((name, lab.add_host(name, ibge=ibge)) for name, ibge in [
        ("pec-ok1", "3550308"), ("pec-ok2", "3304557"), ("pec-lento", "3106200"), ("pec-500", "4106902"),
        ("pec-queda", "4314902"), ("pec-sessao", "5300108"), ("pec-500-uma-vez", "2304400"),
        ("pec-reinicio", "1302603"),
    ])
    hosts["pec-lento"].sim.set_fault(slow=4)
    hosts["pec-lento"].vars["rnds_pec_timeout"] = 1
    hosts["pec-500"].sim.set_fault(http500="always")
    hosts["pec-queda"].sim.set_fault(drop="always")
    for name in ("pec-500", "pec-queda"):
        hosts[name].vars["rnds_pec_retries"] = 1
    hosts["pec-sessao"].sim.set_fault(expire_sessions="1@HabilitarCertificado")
    hosts["pec-500-uma-vez"].sim.set_fault(http500="1@HabilitarCertificado")
    hosts["pec-reinicio"].sim.set_fault(slow=0.5)
    faults = 7

    rc, output = _site_with_restart(lab, hosts["pec-reinicio"])
    stats = hardening_lab.recap(output)
    assert rc != 0
    for name in ("pec-ok1", "pec-ok2", "pec-sessao", "pec-500-uma-vez"):
        assert stats[name]["failed"] == 0 and stats[name]["changed"] >= 1, (name, output)
        assert hosts[name].state()["habilitado"]
    for name in ("pec-lento", "pec-500", "pec-queda"):
        assert stats[name]["failed"] == 1, (name, output)
    assert "não respondeu à operação de login em 1 s" in output
    assert "respondeu HTTP 500 na operação de login, também após 1 nova(s) tentativa(s)" in output
    assert "fechou a conexão sem responder à operação de login" in output
    # the restarted PEC: the client logged in again and retried, or failed saying why; never half done
    assert stats["pec-reinicio"]["failed"] == 0 or "PEC" in output
    assert [e["result"] for e in hosts["pec-sessao"].enable_successes()] == ["sucesso"]

    # audit while the faults persist: the report names each failure
    audit = lab.run("audit.yml", "--check")
    assert audit.returncode == 0, audit.output
    with open(os.path.join(lab.reports, "rnds-report.json"), encoding="utf-8") as handle:
        report = dict((h["host"], h) for h in json.load(handle)["hosts"])
    expected = {"pec-lento": "não respondeu", "pec-500": "HTTP 500", "pec-queda": "fechou a conexão"}
    for name, fragment in expected.items():
        entry = report[name]
        assert entry["status"] == "error" and not entry["rnds_enabled"], entry
        assert any(fragment in problem for problem in entry["problems"]), (name, entry["problems"])
    for name in ("pec-ok1", "pec-ok2", "pec-sessao", "pec-500-uma-vez"):
        assert report[name]["rnds_enabled"], report[name]

    # faults gone: the next run converges, the one after changes nothing
    for host in hosts.values():
        host.sim.clear_faults()
    converge = lab.run("site.yml")
    assert converge.returncode == 0, converge.output
    again = lab.run("site.yml")
    assert again.returncode == 0 and all(s["changed"] == 0 for s in again.recap.values()), again.output
    # nothing was enabled twice, anywhere
    enables = dict((name, len(host.enable_successes())) for name, host in hosts.items())
    assert enables == dict.fromkeys(hosts, 1), enables
    print("hardening/faults: %d faults injected on %d PECs; enables per PEC %s" % (faults, len(hosts), enables))
