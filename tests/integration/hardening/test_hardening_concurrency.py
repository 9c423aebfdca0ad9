# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrency: two runs against the same server at once.

pec_certificate serialises the writers of one installation with a flock on
``<install_dir>/webserver/.esus-rnds.lock`` (never inside ``chaves``) and, under that lock, removes
the temporary files a killed run left. The lock is proven in process (a held lock makes the module
wait, then give up with a clear message and nothing changed):
tests/unit/hardening/test_hardening_concurrency_in_process.py. pec_rnds needs no lock: the PEC
serialises its own mutations and pec_rnds reads the state back after acting; two real
ansible-playbook processes started together, several times, wanting different contents of the
same certificate file, prove that the result is always one complete version, enabled in the PEC
with a file that exists, and that the next runs converge.

The PEC allows one session per user: when the two runs reach the PEC at the same time with the same
admin CPF, the second login is refused and that run fails saying the CPF already has a session open
(the collection never forces by default). That is a clear, safe outcome; it must never leave a
session open nor a PEC pointing at a file that is not there.
"""

from __future__ import annotations

import hashlib
import os
import re

import testca
from cryptography.hazmat.primitives.serialization import pkcs12

ROUNDS = 3
SESSION_BUSY = "já tem uma sessão aberta no PEC"
REPLACED = "não é o certificado esperado; implante-o de novo"


def _sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_two_runs_at_once_never_corrupt_chaves_or_the_pec(lab, test_ca):
    host = lab.add_host("pec-a")
    versions = []
    for letter in "AB":
        path = os.path.join(lab.certs, "%s-%s" % (letter, host.cert_name))
        testca.write_pkcs12(path, test_ca.issue_ecnpj(), host.cert_password)
        versions.append(path)
    hashes = set(_sha256(path) for path in versions)
    host.sim.set_fault(slow=0.1)  # widen the overlap of the two enable calls
    outcomes, stale_rounds = [], 0
    assert not os.path.exists(host.chaves)  # the first round races on creating chaves too
    for number in range(ROUNDS):
        # round 0: the same inventory twice (two operators, or CI and an operator); then two runs that want
        # different contents of the same file (a renewal raced by a stale copy of the inventory)
        host.vars["rnds_certificate_src"] = versions[0]
        first = lab.popen("site.yml", inventory="a")
        host.vars["rnds_certificate_src"] = versions[0 if number == 0 else 1]
        second = lab.popen("site.yml", inventory="b")
        outputs = []
        for proc in (first, second):
            out = proc.stdout.read().decode("utf-8", "replace")
            proc.stdout.close()
            outputs.append((proc.wait(), out))
        outcomes.append([rc for rc, _out in outputs])
        for rc, out in outputs:
            if rc == 0:
                continue
            # a run that fails says why, once, and nothing else fails: either the other run held the admin's
            # PEC session, or (different contents) its file was replaced by the other one under its feet
            assert re.search(r"failed=1 ", out) and out.count("[ERROR]") == 1, out
            assert SESSION_BUSY in out or (number > 0 and REPLACED in out), out
        if number == 0:
            assert 0 in outcomes[-1], outputs  # same inventory twice: at least one run does the job
        entries = sorted(os.listdir(host.chaves))
        assert entries == [host.cert_name], entries  # no temporary file, nothing else
        in_chaves = _sha256(os.path.join(host.chaves, host.cert_name))
        assert in_chaves in hashes
        state = host.state()
        assert state["habilitado"] and state["certificado"] == host.cert_name
        assert state["arquivoSha256"] in hashes
        if state["arquivoSha256"] != in_chaves:
            # the run that wrote last could not enable it (session busy, or its file replaced) and said so;
            # the next run converges (checked below)
            assert any(rc != 0 for rc, _out in outputs), outputs
            stale_rounds += 1
        # both runs logged out (a refused login opens no session)
        assert host.sim.stats()["sessions"].get(host.admin_cpf, 0) == 0, host.sim.stats()
        with open(os.path.join(host.chaves, host.cert_name), "rb") as handle:
            assert pkcs12.load_key_and_certificates(handle.read(), host.cert_password.encode())[0] is not None
        backups = os.path.join(host.install_dir, "webserver", "chaves-backup")
        for name in os.listdir(backups) if os.path.isdir(backups) else []:
            assert _sha256(os.path.join(backups, name)) in hashes  # every backup is a whole version
    host.sim.clear_faults()
    host.vars["rnds_certificate_src"] = versions[0]
    converge = lab.run("site.yml")
    assert converge.returncode == 0, converge.output
    assert host.state()["arquivoSha256"] == _sha256(versions[0])
    again = lab.run("site.yml")
    assert again.returncode == 0 and again.recap["pec-a"]["changed"] == 0, again.output
    print("hardening/concurrency: %d rounds of two concurrent runs: %s; rounds where the PEC kept the previous "
          "content until the next run: %d" % (ROUNDS, outcomes, stale_rounds))
