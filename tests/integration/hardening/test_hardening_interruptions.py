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

Kills are triggered by events of the run, never by a delay on the clock: a task line of the output,
a temporary file of the write appearing in ``chaves`` or reaching a given size, the new file renamed
into place, a host's result line, the k-th request received by a PEC (its request log line, written
before the answer leaves), an old file pruned. Files are polled (no inotify). Which event, which
host and which size or request come from a seeded random generator: the seed is printed, and
ESUS_KILL_SEED=<seed> replays the same choices (docs/testing.md).

A run killed between its PEC login and its logout leaves that session open in the PEC (one session
per user: the next login of the CPF would be refused, and the collection never forces by default).
After each kill the test waits until each PEC has answered every request it received (no
connection left open), then counts those sessions and ends them, as the PEC's idle timeout would.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import random
import re
import select

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
SEED_VARIABLE = "ESUS_KILL_SEED"
HOST_RESULT_RE = re.compile(r"^(ok|changed): \[(?P<host>[^\]]+)\]")


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
    orphans = 0
    for host in hosts:
        # a login in flight when the run was killed opens its session when the PEC answers it: wait for that
        hardening_lab.wait_until_idle(host.sim.port)
        live = host.sim.stats()["sessions"].get(host.admin_cpf, 0)
        if live:
            orphans += live
            host.sim.set_fault(expire_sessions="now")
        assert host.sim.stats()["sessions"].get(host.admin_cpf, 0) == 0
    return orphans


# ------------------------------------------------------------------------------------------
# Kill triggers: events of the run, polled while its output streams


class Trigger:
    """Fires once on an event of the run. ``start`` is called before the run, ``line`` with each output
    line (True fires), ``poll`` between lines (True fires). ``after_task``: only armed once that task's line
    was seen."""

    after_task = None

    def __init__(self, label):
        self.label = label

    def start(self):
        pass

    def line(self, text):  # pylint: disable=unused-argument
        return False

    def poll(self):
        return False


class TaskLine(Trigger):
    """The line ``TASK [<task>]``: the task starts, no host has run it yet."""

    def __init__(self, task):
        super().__init__("início da tarefa")
        self.task = task

    def line(self, text):
        match = hardening_lab.TASK_LINE_RE.match(text)
        return bool(match) and match.group("name") == self.task


class HostResult(Trigger):
    """The first ``ok: [host]``/``changed: [host]`` line of the task: one host is done, the other may not be."""

    def __init__(self, task):
        super().__init__("primeiro host pronto")
        self.after_task = task

    def line(self, text):
        return bool(HOST_RESULT_RE.match(text))


class Renamed(Trigger):
    """The new version renamed into place on one host (the certificate's inode changed)."""

    def __init__(self, hosts):
        super().__init__("arquivo novo no lugar")
        self.after_task = DEPLOY_TASK
        self.hosts = hosts
        self.before = {}

    @staticmethod
    def _inode(host):
        try:
            return os.stat(os.path.join(host.chaves, host.vars["rnds_certificate_name"])).st_ino
        except OSError:
            return None

    def start(self):
        self.before = dict((host.name, self._inode(host)) for host in self.hosts)

    def poll(self):
        return any(self._inode(host) not in (None, self.before[host.name]) for host in self.hosts)


class TempFile(Renamed):
    """A temporary file of the write (``.esus-rnds-*.tmp`` in ``chaves``) holding at least ``fraction`` of the
    new version's bytes (0: as soon as it exists). The module writes the file in one call, then syncs, checks
    and renames it: when all that fell between two polls, the event is the new file in place."""

    def __init__(self, hosts, fraction):
        super().__init__(hosts)
        self.label = "temporário com %d%% dos bytes" % round(fraction * 100)
        self.fraction = fraction

    def poll(self):
        for host in self.hosts:
            wanted = self.fraction * os.path.getsize(host.vars["rnds_certificate_src"])
            try:
                entries = list(os.scandir(host.chaves))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".esus-rnds-") and entry.name.endswith(".tmp"):
                    try:
                        if entry.stat(follow_symlinks=False).st_size >= wanted:
                            return True
                    except OSError:
                        continue
        if super().poll():
            self.label += " (ou já no lugar)"
            return True
        return False


class Request(Trigger):
    """The ``number``-th request the PEC of ``host`` received in this run (its request log line is written
    before the answer leaves: the client is waiting for that answer)."""

    def __init__(self, host, number):
        super().__init__("pedido %d ao PEC de %s" % (number, host.name))
        self.host = host
        self.number = number
        self.tail = None

    def start(self):
        self.tail = self.host.request_tail()

    def poll(self):
        return self.tail.poll() >= self.number


class Pruned(Trigger):
    """An old certificate gone from ``chaves`` on one host (rotate.yml prunes it after the PEC accepted the new one)."""

    def __init__(self, hosts, names):
        super().__init__("arquivo antigo podado")
        self.hosts = hosts
        self.names = names  # {host name: [file names]}
        self.present = {}

    def start(self):
        self.present = dict((host.name, set(os.listdir(host.chaves)) & set(self.names[host.name])) for host in self.hosts)

    def poll(self):
        return any(self.present[host.name] - set(os.listdir(host.chaves)) for host in self.hosts)


def _run_and_kill(lab, trigger, playbook="site.yml"):
    """Start ``playbook``; kill it (kill_tree) as soon as ``trigger`` fires.

    Returns the name of the last task seen when the kill happened, or None when the run finished
    before the event.
    """
    trigger.start()
    proc = lab.popen(playbook)
    buffer, last_task, armed = b"", None, trigger.after_task is None
    try:
        while True:
            if armed and trigger.poll():
                hardening_lab.kill_tree(proc)
                return last_task
            if select.select([proc.stdout], [], [], 0.002)[0]:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    proc.wait()
                    return None
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    text = raw.decode("utf-8", "replace")
                    match = hardening_lab.TASK_LINE_RE.match(text)
                    if match:
                        last_task = match.group("name")
                        armed = armed or last_task == trigger.after_task
                    if armed and trigger.line(text):
                        hardening_lab.kill_tree(proc)
                        return last_task
    finally:
        if proc.poll() is None:
            hardening_lab.kill_tree(proc)
        proc.stdout.close()


def _calibrate(lab, hosts, playbook="site.yml"):
    """A full run (it converges): the tasks it showed and {host name: requests its PEC received}."""
    tails = dict((host.name, host.request_tail()) for host in hosts)
    proc = lab.popen(playbook)
    tasks = []
    for raw in proc.stdout:
        match = hardening_lab.TASK_LINE_RE.match(raw.decode("utf-8", "replace").rstrip("\n"))
        if match:
            tasks.append(match.group("name"))
    assert proc.wait() == 0
    proc.stdout.close()
    return tasks, dict((name, tail.poll()) for name, tail in tails.items())


def _deploy_trigger(rng, writers):
    """One event of the deploy task, picked at random; ``writers``: the hosts whose run writes a file."""
    kind = rng.choice(["task", "temp", "renamed", "host"])
    if kind == "task":
        return TaskLine(DEPLOY_TASK)
    if kind == "temp":
        return TempFile(writers, rng.choice([0.0, rng.random(), 1.0]))
    if kind == "renamed":
        return Renamed(writers)
    return HostResult(DEPLOY_TASK)


def _in_chaves(host, name):
    path = os.path.join(host.chaves, name)
    return _sha256(path) if os.path.isfile(path) else None


def _request_trigger(rng, hosts, change, same):
    """The k-th request to one PEC. A run asks a PEC that must enable the wanted file for more (``change``:
    {host name: requests}) than a PEC already enabled with it (``same``): k is drawn from the run ahead."""
    host = rng.choice(hosts)
    state = host.state()
    wanted = (host.vars["rnds_certificate_name"], _sha256(host.vars["rnds_certificate_src"]))
    counts = same if (state["certificado"], state["arquivoSha256"]) == wanted else change
    return Request(host, rng.randint(1, counts[host.name]))


def _seed():
    value = os.environ.get(SEED_VARIABLE)
    seed = int(value) if value else random.SystemRandom().randrange(2 ** 32)
    print("hardening/interruptions: semente %d (repita com %s=%d)" % (seed, SEED_VARIABLE, seed))
    return seed


def test_random_kills_never_leave_a_partial_certificate_or_a_pec_without_one(lab, test_ca):
    seed = _seed()
    rng = random.Random(seed)
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

    tasks, dummy = _calibrate(lab, hosts)  # the first convergence (version A enabled)
    assert DEPLOY_TASK in tasks and ENABLE_TASK in tasks, tasks
    for host in hosts:
        assert host.state()["habilitado"] and _sha256(os.path.join(host.chaves, host.cert_name)) == _sha256(host.versions[0])
        host.vars["rnds_certificate_src"] = host.versions[1]
    # how many requests each PEC gets in a renewal (version B), then in a run with nothing to change
    dummy, change = _calibrate(lab, hosts)
    dummy, same = _calibrate(lab, hosts)
    assert all(change[name] > same[name] > 0 for name in change), (change, same)

    problems, leftovers, phases, events, orphans = [], set(), {}, {}, 0
    for number in range(KILLS):
        for host in hosts:  # every run wants the version chaves does not have: a write each time
            current = _in_chaves(host, host.cert_name)
            host.vars["rnds_certificate_src"] = next(v for v in host.versions if _sha256(v) != current)
        kind = number % 4
        if kind == 0:  # inside the write: the temporary file exists and holds some of the bytes
            trigger = TempFile(hosts, rng.random())
        elif kind == 1:  # anywhere in the deploy task
            trigger = _deploy_trigger(rng, hosts)
        else:  # a request to the PEC (the enable task; slow PEC)
            trigger = _request_trigger(rng, hosts, change, same)
        killed_in = _run_and_kill(lab, trigger)
        phases[killed_in] = phases.get(killed_in, 0) + 1
        events[trigger.label] = events.get(trigger.label, 0) + 1
        for host in hosts:
            found, temp = _check_invariants(host, host.allowed)
            problems += ["semente %d, kill %d (%s, %s): %s" % (seed, number, trigger.label, killed_in, p) for p in found]
            leftovers.update(temp)
        orphans += _end_orphan_sessions(hosts)
    print("hardening/interruptions: %d kills during a renewal (site.yml), PEC requests per run %s (nothing to "
          "change: %s), phases %s, events %s, temp files left %d, PEC sessions left open %d"
          % (KILLS, change, same, phases, events, len(leftovers), orphans))
    assert problems == []
    # nothing a killed run left behind (install dirs, HOME with ~/.ansible/tmp, TMPDIR) holds a password
    leaks, _files = lab.scan_files()
    assert leaks == [], "semente %d" % seed
    # Every kill landed on its event; the ones of the write inside the deploy task, the others while the run
    # talked to the PEC.
    assert None not in phases, ("semente %d: uma execução terminou antes do evento" % seed, phases)
    assert phases.get(DEPLOY_TASK, 0) >= KILLS // 2 and phases.get(ENABLE_TASK, 0) >= KILLS // 4, (seed, phases)

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

    def want_the_other():
        """Each host wants the name its PEC does not use: a rotation (enable, prune) every time."""
        for host in hosts:
            number = 1 - names[host.name].index(host.state()["certificado"])
            host.vars.update(rnds_certificate_name=names[host.name][number], rnds_certificate_src=host.versions[number])

    want(1)
    tasks, rotate_change = _calibrate(lab, hosts, "rotate.yml")
    dummy, rotate_same = _calibrate(lab, hosts, "rotate.yml")
    assert DEPLOY_TASK in tasks and all(rotate_change[n] > rotate_same[n] > 0 for n in rotate_change), (
        tasks, rotate_change, rotate_same)
    rotate_phases, rotate_events = {}, {}
    for number in range(ROTATE_KILLS):
        want_the_other()
        writers = [h for h in hosts if _in_chaves(h, h.vars["rnds_certificate_name"]) != _sha256(h.vars["rnds_certificate_src"])]
        kind = rng.choice((["deploy"] if writers else []) + ["request", "pruned"])
        if kind == "deploy":
            trigger = _deploy_trigger(rng, writers)
        elif kind == "request":
            trigger = _request_trigger(rng, hosts, rotate_change, rotate_same)
        else:
            trigger = Pruned(hosts, names)
        killed_in = _run_and_kill(lab, trigger, playbook="rotate.yml")
        rotate_phases[killed_in] = rotate_phases.get(killed_in, 0) + 1
        rotate_events[trigger.label] = rotate_events.get(trigger.label, 0) + 1
        for host in hosts:
            found, temp = _check_invariants(host, host.allowed)
            problems += ["semente %d, rotação, kill %d (%s, %s): %s" % (seed, number, trigger.label, killed_in, p)
                         for p in found]
        _end_orphan_sessions(hosts)
    print("hardening/interruptions: %d kills during a rotation (rotate.yml), PEC requests per run %s (nothing to "
          "change: %s), phases %s, events %s" % (ROTATE_KILLS, rotate_change, rotate_same, rotate_phases, rotate_events))
    assert problems == []
    assert None not in rotate_phases, ("semente %d: uma execução terminou antes do evento" % seed, rotate_phases)
    want_the_other()
    converge = lab.run("rotate.yml")
    assert converge.returncode == 0, converge.output
    for host in hosts:
        assert os.listdir(host.chaves) == [host.vars["rnds_certificate_name"]]
        assert host.state()["certificado"] == host.vars["rnds_certificate_name"]
    again = lab.run("rotate.yml")
    assert again.returncode == 0 and all(r["changed"] == 0 for r in again.recap.values()), again.output
