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

Every run is also checked against each PEC's request log (``pec-simulator/requests.jsonl``): the
PEC allows one session per user and locks an account after failed logins, so no run logs in with
the admin's CPF more than twice (one login, plus at most one new login after the PEC ended the
session) and every session a run opened ends with a Logout.
"""

from __future__ import annotations

import json
import os
import select
import time

import hardening_lab

ENABLE_TASK = "esus.rnds.enable : Habilitar ou desabilitar a RNDS de cada município no PEC"
# What the client says when the PEC restarts under it (pt-BR): an answer cut, connections refused
# (after the retries), or a session lost again right after the one new login.
RESTART_MESSAGES = ("fechou a conexão sem responder", "interrompeu a resposta", "PEC não responde em",
                    "encerrou a sessão do CPF")


def _site_with_restart(lab, host):
    """Run site.yml; restart ``host``'s PEC as soon as the enable task starts. Returns (rc, output)."""
    proc = lab.popen("site.yml")
    output, buffer, restarted = [], b"", False
    host.restart_marks = []
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
                # host.sim.restart(), with the request log marked while the PEC is down: its sessions end there
                host.sim.listen = "127.0.0.1:%d" % host.sim.port
                host.sim.stop()
                host.restart_marks.append(host.request_mark())
                host.sim.start()
                restarted = True
    proc.stdout.close()
    assert restarted
    return proc.wait(), "\n".join(output + [buffer.decode("utf-8", "replace")])


def _wait_for_login(host, mark, timeout=20):
    """The first Login of ``host``'s request log after ``mark``, once the PEC answered it (a slow PEC answers
    after the client gave up: until then the session it opens, if any, does not exist yet)."""
    deadline = time.monotonic() + timeout
    while True:
        logins = [line for line in host.requests_since(mark) if line["operation"] == "Login"]
        if logins or time.monotonic() > deadline:
            assert logins, "%s: nenhum Login no registro de pedidos" % host.name
            return logins[0]
        time.sleep(0.2)


def _marks(hosts):
    return dict((name, host.request_mark()) for name, host in hosts.items())


def _check_sessions(hosts, marks, label, timed_out=()):
    """Session problems of one run on every PEC (see hardening_lab.session_problems); returns {name: logins}."""
    problems, logins = [], {}
    for name, host in hosts.items():
        lines = host.requests_since(marks[name])
        logins[name] = sum(1 for line in lines if line["operation"] == "Login")
        restarts = [mark - marks[name] for mark in getattr(host, "restart_marks", ()) if mark >= marks[name]]
        problems += ["%s, %s: %s" % (label, name, problem)
                     for problem in hardening_lab.session_problems(lines, host.admin_cpf, login_timed_out=name in timed_out,
                                                                   restarts=restarts)]
    assert problems == [], problems
    return logins


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

    marks = _marks(hosts)
    rc, output = _site_with_restart(lab, hosts["pec-reinicio"])
    stats = hardening_lab.recap(output)
    fatal = hardening_lab.fatal_messages(output, ENABLE_TASK)
    assert rc != 0
    for name in ("pec-ok1", "pec-ok2", "pec-sessao", "pec-500-uma-vez"):
        assert stats[name]["failed"] == 0 and stats[name]["changed"] >= 1, (name, stats[name], fatal.get(name), output[-3000:])
        assert hosts[name].state()["habilitado"]
    for name in ("pec-lento", "pec-500", "pec-queda"):
        assert stats[name]["failed"] == 1, (name, output)
        assert fatal[name].startswith("município %s: " % hosts[name].ibge), (name, fatal[name])
        assert hosts[name].sim.url in fatal[name], (name, fatal[name])
    assert "não respondeu à operação de login em 1 s" in fatal["pec-lento"]
    assert "respondeu HTTP 500 na operação de login" in fatal["pec-500"]
    assert "fechou a conexão sem responder à operação de login" in fatal["pec-queda"]
    for name in ("pec-500", "pec-queda"):
        # the Login is never repeated (request log below), and the message does not claim new attempts
        assert "o login não foi repetido" in fatal[name] and "nova(s) tentativa(s)" not in fatal[name], fatal[name]
    # the restarted PEC: the client logged in again and finished, or failed saying the PEC restarted
    # under it (never half done: either the PEC has the certificate or the run says why not)
    if stats["pec-reinicio"]["failed"]:
        message = fatal["pec-reinicio"]
        assert message.startswith("município 1302603: ") and hosts["pec-reinicio"].sim.url in message, message
        assert any(fragment in message for fragment in RESTART_MESSAGES), message
    else:
        assert hosts["pec-reinicio"].state()["habilitado"], output
        assert "pec-reinicio" not in fatal, fatal
    assert [e["result"] for e in hosts["pec-sessao"].enable_successes()] == ["sucesso"]
    # sessions: at most one new login, a Logout for every login; the login that timed out on the
    # client (pec-lento) is the only session left open, and the PEC still counts it
    _wait_for_login(hosts["pec-lento"], marks["pec-lento"])
    logins = _check_sessions(hosts, marks, "site com falhas", timed_out=("pec-lento",))
    assert logins["pec-sessao"] == 2, logins  # the session expired before the enable: one new login
    assert logins["pec-500"] == 1 and logins["pec-queda"] == 1, logins  # a login that may have reached the PEC is never repeated
    live = dict((name, host.sim.stats()["sessions"].get(host.admin_cpf, 0)) for name, host in hosts.items())
    assert live == dict(dict.fromkeys(hosts, 0), **{"pec-lento": 1}), live

    # audit while the faults persist: the report names each failure
    marks = _marks(hosts)
    audit = lab.run("audit.yml", "--check")
    assert audit.returncode == 0, audit.output
    # the audit's login on pec-lento met the session the site run's timed-out login left open
    assert _wait_for_login(hosts["pec-lento"], marks["pec-lento"])["classification"] == "UsuarioJaLogadoException"
    _check_sessions(hosts, marks, "auditoria com falhas")
    with open(os.path.join(lab.reports, "rnds-report.json"), encoding="utf-8") as handle:
        report = dict((h["host"], h) for h in json.load(handle)["hosts"])
    expected = {"pec-lento": "não respondeu", "pec-500": "HTTP 500", "pec-queda": "fechou a conexão"}
    for name, fragment in expected.items():
        entry = report[name]
        assert entry["status"] == "error" and not entry["rnds_enabled"], entry
        assert any(fragment in problem for problem in entry["problems"]), (name, entry["problems"])
    for name in ("pec-ok1", "pec-ok2", "pec-sessao", "pec-500-uma-vez"):
        assert report[name]["rnds_enabled"], report[name]
        assert report[name]["rnds_status"] == "enabled", report[name]

    # faults gone: the next run converges, the one after changes nothing. The session the timed-out
    # login left open on pec-lento ends as the PEC's idle timeout would end it (a login meanwhile
    # would be refused with "já tem uma sessão aberta": the collection never forces by default).
    for host in hosts.values():
        host.sim.clear_faults()
    hosts["pec-lento"].sim.set_fault(expire_sessions="now")
    # the 1 s timeout was part of the slow-PEC fault: on a loaded machine an enable (which opens the PKCS#12)
    # can take longer than that even on a healthy PEC
    del hosts["pec-lento"].vars["rnds_pec_timeout"]
    marks = _marks(hosts)
    converge = lab.run("site.yml")
    assert converge.returncode == 0, converge.output
    _check_sessions(hosts, marks, "site convergindo")
    marks = _marks(hosts)
    again = lab.run("site.yml")
    assert again.returncode == 0 and all(s["changed"] == 0 for s in again.recap.values()), again.output
    logins = _check_sessions(hosts, marks, "site sem mudanças")
    assert logins == dict.fromkeys(hosts, 1), logins
    live = dict((name, host.sim.stats()["sessions"].get(host.admin_cpf, 0)) for name, host in hosts.items())
    assert live == dict.fromkeys(hosts, 0), live
    # nothing was enabled twice, anywhere
    enables = dict((name, len(host.enable_successes())) for name, host in hosts.items())
    assert enables == dict.fromkeys(hosts, 1), enables
    print("hardening/faults: %d faults injected on %d PECs; enables per PEC %s" % (faults, len(hosts), enables))
