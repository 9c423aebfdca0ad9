# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interruptions: SIGKILL ansible-playbook (its process group and every worker and module process)
at random points while the certificate is written and while the PEC enable call runs.

Two hosts, each with a large-ish certificate (about 0.9 MiB, so the write takes a while) whose
content flips between two versions on every run (same name and password: a renewal), and a PEC
that answers slowly (simulator fault ``slow``) so the enable call has a wide window. After every
kill: each .pfx/.p12 in ``chaves`` is one of the two complete versions (sha256), nothing else the
PEC would list is there, and the PEC still has RNDS enabled with a file that exists in ``chaves``
and opens with the password. At the end the next run converges (rc 0, no temporary file left)
and the one after reports changed=0.

A run killed between its PEC login and its logout leaves that session open in the PEC (one session
per user: the next login of the CPF would be refused, and the collection never forces by default).
After each kill the test counts those sessions and ends them, as the PEC's idle timeout would.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import random
import select
import time

import testca
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

import hardening_lab

KILLS = 24
ROTATE_KILLS = 6
DEPLOY_TASK = "esus.rnds.certificate : Implantar o certificado na pasta chaves"
ENABLE_TASK = "esus.rnds.enable : Habilitar ou desabilitar a RNDS de cada município no PEC"
SLOW = 0.3


def _fillers(count=14, size=60000):
    """Self-signed certificates with a large opaque extension, to make a big but valid PKCS#12."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    out = []
    for number in range(count):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "enchimento %d" % number)])
        out.append(
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=400))
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), os.urandom(size)),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return out


def _big_pkcs12(path, test_ca, password, fillers):
    leaf = test_ca.issue_ecnpj()
    testca.write_pkcs12(path, testca.Leaf(leaf.cert, leaf.key, list(leaf.chain) + fillers), password)
    return _sha256(path)


def _sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _opens(path, password):
    with open(path, "rb") as handle:
        key, cert, _extra = pkcs12.load_key_and_certificates(handle.read(), password.encode("utf-8"))
    return key is not None and cert is not None


def _check_invariants(host, allowed, enabled_expected=True):
    """Return (problems, leftover temporary files) for one host, right after a kill.

    ``allowed``: {file name: set of the sha256 of the complete versions that name may hold}.
    """
    problems, leftovers = [], []
    if os.path.isdir(host.chaves):
        for entry in sorted(os.listdir(host.chaves)):
            path = os.path.join(host.chaves, entry)
            if entry.lower().endswith((".pfx", ".p12")):
                if entry not in allowed:
                    problems.append("%s: arquivo inesperado em chaves: %s" % (host.name, entry))
                elif _sha256(path) not in allowed[entry]:
                    problems.append("%s: %s incompleto ou corrompido" % (host.name, entry))
            elif entry.startswith(".esus-rnds-") and entry.endswith(".tmp"):
                leftovers.append(entry)
            else:
                problems.append("%s: entrada inesperada em chaves: %s" % (host.name, entry))
    state = host.state()
    if enabled_expected:
        if not state["habilitado"]:
            problems.append("%s: o PEC ficou sem certificado habilitado" % host.name)
        else:
            path = os.path.join(host.chaves, state["certificado"] or "")
            if not os.path.isfile(path):
                problems.append("%s: o PEC habilitou %s, que não existe em chaves" % (host.name, state["certificado"]))
            elif not _opens(path, host.cert_password):
                problems.append("%s: %s não abre com a senha" % (host.name, state["certificado"]))
    return problems, leftovers


def _end_orphan_sessions(hosts):
    """End the sessions a killed run left open in each PEC (the PEC's idle timeout); returns how many there were."""
    time.sleep(2 * SLOW)  # a login in flight when the run was killed is answered (and opens its session) after SLOW
    orphans = 0
    for host in hosts:
        live = host.sim.stats()["sessions"].get(host.admin_cpf, 0)
        if live:
            orphans += live
            host.sim.set_fault(expire_sessions="now")
        assert host.sim.stats()["sessions"].get(host.admin_cpf, 0) == 0
    return orphans


def _writing(folders):
    for folder in folders:
        try:
            if any(name.startswith(".esus-rnds-") and name.endswith(".tmp") for name in os.listdir(folder)):
                return True
        except OSError:
            pass
    return False


def _run_and_kill(lab, marker, delay, watch=None, playbook="site.yml"):
    """Start ``playbook``, kill it ``delay`` seconds after the line of task ``marker`` appears.

    With ``watch`` (chaves folders), the delay starts only once a temporary file of the write
    shows up in one of them: the kill lands inside the write itself.
    Returns the name of the last task seen when the kill happened, or None when the run finished first.
    """
    proc = lab.popen(playbook)
    buffer, last_task, deadline, armed = b"", None, None, False
    try:
        while True:
            if armed and deadline is None and _writing(watch):
                deadline = time.monotonic() + delay
            if deadline is not None:
                timeout = max(0.0, deadline - time.monotonic())
            else:
                timeout = 0.001 if armed else 0.5
            ready = select.select([proc.stdout], [], [], timeout)[0]
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    proc.wait()
                    return None
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    match = hardening_lab.TASK_LINE_RE.match(line.decode("utf-8", "replace"))
                    if match:
                        last_task = match.group("name")
                        if deadline is None and last_task == marker:
                            if watch:
                                armed = True
                            else:
                                deadline = time.monotonic() + delay
            if deadline is not None and time.monotonic() >= deadline:
                hardening_lab.kill_tree(proc)
                return last_task
    finally:
        if proc.poll() is None:
            hardening_lab.kill_tree(proc)
        proc.stdout.close()


def _timed_run(lab, playbook="site.yml"):
    """[(task name, start time)] of a full run streamed line by line, then ("fim", end time)."""
    proc = lab.popen(playbook)
    seen = []
    for raw in proc.stdout:
        match = hardening_lab.TASK_LINE_RE.match(raw.decode("utf-8", "replace").rstrip("\n"))
        if match:
            seen.append((match.group("name"), time.monotonic()))
    seen.append(("fim", time.monotonic()))
    assert proc.wait() == 0
    proc.stdout.close()
    return seen


def _windows(lab):
    """Durations of the deploy and enable tasks of site.yml (the run also converges)."""
    seen = _timed_run(lab)
    durations = {}
    for (name, started), (_next, ended) in zip(seen, seen[1:]):
        durations[name] = ended - started
    return durations[DEPLOY_TASK], durations[ENABLE_TASK]


def test_random_kills_never_leave_a_partial_certificate_or_a_pec_without_one(lab, test_ca):
    rng = random.Random(int(os.environ.get("ESUS_HARDENING_SEED", "0")) or None)
    fillers = _fillers()
    hosts = [lab.add_host("pec-a"), lab.add_host("pec-b", ibge="3304557")]
    for host in hosts:
        host.versions = []
        for letter in "AB":
            path = os.path.join(lab.certs, "%s-%s-%s" % (host.name, letter, host.cert_name))
            host.versions.append(path)
            _big_pkcs12(path, test_ca, host.cert_password, fillers)
        host.allowed = {host.cert_name: set(_sha256(path) for path in host.versions)}
        host.vars["rnds_certificate_src"] = host.versions[0]
        assert os.path.getsize(host.versions[0]) > 800 * 1024
        host.sim.set_fault(slow=SLOW)

    deploy_window, enable_window = _windows(lab)  # also the first convergence (version A enabled)
    for host in hosts:
        assert host.state()["habilitado"] and _sha256(os.path.join(host.chaves, host.cert_name)) == _sha256(host.versions[0])

    problems, leftovers, phases, orphans = [], set(), {}, 0
    for number in range(KILLS):
        for host in hosts:  # every run wants the other version: a write and an enable each time
            host.vars["rnds_certificate_src"] = host.versions[(number + 1) % 2]
        kind = number % 4
        if kind == 0:  # inside the write: as soon as the temporary file exists, plus 0-30 ms
            killed_in = _run_and_kill(lab, DEPLOY_TASK, rng.uniform(0.0, 0.03), watch=[h.chaves for h in hosts])
        elif kind == 1:  # anywhere in the deploy task
            killed_in = _run_and_kill(lab, DEPLOY_TASK, rng.uniform(0.0, deploy_window))
        else:  # anywhere in the enable task (slow PEC)
            killed_in = _run_and_kill(lab, ENABLE_TASK, rng.uniform(0.0, enable_window))
        phases[killed_in] = phases.get(killed_in, 0) + 1
        for host in hosts:
            found, temp = _check_invariants(host, host.allowed)
            problems += ["kill %d (%s): %s" % (number, killed_in, p) for p in found]
            leftovers.update(temp)
        orphans += _end_orphan_sessions(hosts)
    print("hardening/interruptions: %d kills during a renewal (site.yml), deploy window %.1fs, enable window %.1fs, "
          "phases %s, temp files left %d, PEC sessions left open %d"
          % (KILLS, deploy_window, enable_window, phases, len(leftovers), orphans))
    assert problems == []
    # nothing a killed run left behind (install dirs, HOME with ~/.ansible/tmp, TMPDIR) holds a password
    leaks, _files = lab.scan_files()
    assert leaks == []
    # Coverage of the dangerous windows: on a loaded machine some kills land before the play starts,
    # so ask for a sixth of the kills inside each of the write and the enable, not a quarter.
    assert phases.get(DEPLOY_TASK, 0) >= KILLS // 6 and phases.get(ENABLE_TASK, 0) >= KILLS // 6, phases

    for host in hosts:
        host.sim.clear_faults()
    converge = lab.run("site.yml")
    assert converge.returncode == 0, converge.output
    for host in hosts:
        found, temp = _check_invariants(host, host.allowed)
        assert found == [] and temp == []
        assert os.listdir(host.chaves) == [host.cert_name]
        assert _sha256(os.path.join(host.chaves, host.cert_name)) == _sha256(host.vars["rnds_certificate_src"])
        assert host.state()["arquivoSha256"] == _sha256(host.vars["rnds_certificate_src"])
    again = lab.run("site.yml")
    assert again.returncode == 0 and all(r["changed"] == 0 for r in again.recap.values()), again.output

    # Rotation to a file of another name (rotate.yml: deploy next to the old one, enable, then prune the
    # old one), killed anywhere in the run: the PEC never points at a file that is gone.
    names = {}
    for host in hosts:
        names[host.name] = [host.cert_name, host.cert_name.replace(".pfx", "-novo.pfx")]
        host.allowed = dict(zip(names[host.name], ([_sha256(path)] for path in host.versions)))
        host.allowed = dict((name, set(shas)) for name, shas in host.allowed.items())

    def want(number):
        for host in hosts:
            host.vars.update(rnds_certificate_name=names[host.name][number % 2],
                             rnds_certificate_src=host.versions[number % 2])

    want(1)
    seen = _timed_run(lab, "rotate.yml")
    rotate_window = seen[-1][1] - next(started for name, started in seen if name == DEPLOY_TASK)
    rotate_phases = {}
    for number in range(ROTATE_KILLS):
        want(number)
        killed_in = _run_and_kill(lab, DEPLOY_TASK, rng.uniform(0.0, rotate_window), playbook="rotate.yml")
        rotate_phases[killed_in] = rotate_phases.get(killed_in, 0) + 1
        for host in hosts:
            found, temp = _check_invariants(host, host.allowed)
            problems += ["rotação, kill %d (%s): %s" % (number, killed_in, p) for p in found]
        _end_orphan_sessions(hosts)
    print("hardening/interruptions: %d kills during a rotation (rotate.yml), window %.1fs, phases %s"
          % (ROTATE_KILLS, rotate_window, rotate_phases))
    assert problems == []
    want(ROTATE_KILLS)
    converge = lab.run("rotate.yml")
    assert converge.returncode == 0, converge.output
    for host in hosts:
        assert os.listdir(host.chaves) == [host.vars["rnds_certificate_name"]]
        assert host.state()["certificado"] == host.vars["rnds_certificate_name"]
    again = lab.run("rotate.yml")
    assert again.returncode == 0 and all(r["changed"] == 0 for r in again.recap.values()), again.output
