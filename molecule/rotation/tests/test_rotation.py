# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario `rotation`: playbooks/rotate.yml A -> B, a rotation the PEC refuses, then B -> C.

Converge (site.yml) enabled certificate A. The tests run in file order; the new certificate is
given in an extra-vars file, as an operator would do.
"""

from __future__ import annotations

import json
import os

import pytest

import moltest

HOST = "rnds-rotation-saopaulo"
IBGE = "3550308"
A, B, C = "fms-3550308-a.pfx", "fms-3550308-b.pfx", "fms-3550308-c.p12"


@pytest.fixture(scope="module")
def data():
    return moltest.resolved()[HOST]


def _extra_vars(data, name, **more):
    """A 0600 extra-vars file pointing the host at certificate ``name``."""
    values = {"rnds_certificate_src": moltest.ephemeral("certs", name),
              "rnds_certificate_password": data["catalogue"][name]["password"]}
    values.update(more)
    path = moltest.ephemeral("rotate-%s.json" % name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle, ensure_ascii=False)
    return "@" + path


def _rotate(data, name, **more):
    run = moltest.run_playbook("rotate.yml", "-e", _extra_vars(data, name, **more))
    output = run.stdout + run.stderr
    for secret in moltest.secrets_of(data):
        assert secret not in output, "uma senha apareceu na saída de rotate.yml"
    return run


def _rnds():
    """The municipality's certificate record (state.json version 2)."""
    return moltest.certificate_state(moltest.snapshot(HOST)["state"], IBGE)


def _chaves(entries=None):
    entries = entries if entries is not None else moltest.snapshot(HOST)["entries"]
    return dict((path.split("/", 2)[2], entry) for path, entry in entries.items() if path.startswith("webserver/chaves/"))


def _backups():
    entries = moltest.snapshot(HOST)["entries"]
    return dict((path.split("/", 2)[2], entry) for path, entry in entries.items()
                if path.startswith("webserver/chaves-backup/"))


def _assert_enabled(name, requester_id="3550308-SOLIC-0001"):
    files = moltest.manifest()
    rnds = _rnds()
    assert rnds["servicos"] == ["RNDS"] and rnds["certificado"] == name, rnds
    assert rnds["fingerprintSha256"] == files[name]["fingerprint_sha256"], rnds
    assert rnds["identificadorSolicitante"] == requester_id, rnds
    chaves = _chaves()
    assert chaves[name]["sha256"] == files[name]["sha256"]
    assert (chaves[name]["owner"], chaves[name]["mode"]) == ("root", "0640")


def test_converge_enabled_certificate_a():
    _assert_enabled(A)
    assert sorted(_chaves()) == [A]


def test_rotate_a_to_b_enables_b_then_removes_a(data):
    run = _rotate(data, B)
    assert run.rc == 0, run.describe()
    results = run.results(HOST)
    deploy_at = [i for i, (_n, a, r) in enumerate(results) if a == "esus.rnds.pec_certificate" and not r.get("pruned")]
    enable_at = [i for i, (_n, a, r) in enumerate(results) if a == "esus.rnds.pec_rnds" and r.get("changed")]
    prune_at = [i for i, (_n, a, r) in enumerate(results) if a == "esus.rnds.pec_certificate" and r.get("pruned")]
    assert len(enable_at) == 1 and len(prune_at) == 1, [(n, a) for n, a, _r in results]
    assert deploy_at[0] < enable_at[0] < prune_at[0], "A só pode sair de chaves depois de o PEC aceitar B"
    assert results[prune_at[0]][2]["pruned"] == [A]
    _assert_enabled(B)
    assert sorted(_chaves()) == [B]
    backups = _backups()
    assert [name for name in backups if name.startswith(A + ".")], backups
    for name, entry in backups.items():
        if name.startswith(A + "."):
            assert entry["sha256"] == moltest.manifest()[A]["sha256"]
            assert not name.lower().endswith((".pfx", ".p12")), name


def test_rotating_again_to_b_changes_nothing(data):
    before = moltest.snapshot(HOST)
    run = _rotate(data, B)
    assert run.rc == 0 and run.changed(HOST) == 0, run.describe()
    assert moltest.snapshot(HOST)["audit"] == before["audit"]


def test_rotation_the_pec_answers_with_500_keeps_b(data):
    moltest.pec_ctl(HOST, "fault", '{"http500": "always@HabilitarCertificado"}')
    try:
        run = _rotate(data, C)
    finally:
        faults = moltest.pec_ctl(HOST, "fault", '{"clear": true}')["faults"]
    assert faults["http500"] == 0, faults
    assert run.rc != 0 and run.failures(HOST) == 1, run.describe()
    message = run.failed_messages(HOST)[0]
    for fragment in ("respondeu HTTP 500", "journalctl -u e-SUS-PEC"):
        assert fragment in message, message
    _assert_enabled(B)
    # C was put next to B (first step), B was not removed (the last step did not run).
    assert sorted(_chaves()) == sorted([B, C])
    assert not [name for name in _backups() if name.startswith(B + ".")]


def test_rotation_with_an_identificador_the_pec_rejects_keeps_b(data):
    before = moltest.snapshot(HOST)["audit"]
    run = _rotate(data, C, rnds_requester_id="3550308 SOLIC 0002")
    assert run.rc != 0 and run.failures(HOST) == 1, run.describe()
    message = run.failed_messages(HOST)[0]
    for fragment in ("município %s" % IBGE, "recusou o certificado", "Identificador do solicitante inválido",
                     "confira o identificador do solicitante"):
        assert fragment in message, message
    _assert_enabled(B)
    assert sorted(_chaves()) == sorted([B, C])
    new = moltest.snapshot(HOST)["audit"][len(before):]
    assert [(line["action"], line["certificado"], line["result"]) for line in new] == [
        ("Habilitar o PEC a acessar RNDS", C, "falha: Identificador do solicitante inválido.")], new


def test_rotate_b_to_c_once_the_pec_accepts_it(data):
    run = _rotate(data, C)
    assert run.rc == 0, run.describe()
    _assert_enabled(C)
    assert sorted(_chaves()) == [C]
    assert [name for name in _backups() if name.startswith(B + ".")]
    enables = [line for line in moltest.new_audit_lines(HOST) if line["result"] == "sucesso"]
    assert [line["certificado"] for line in enables] == [A, B, C], enables
    assert set(line["action"] for line in enables) == {"Habilitar o PEC a acessar RNDS"}, enables
    assert set(line["user"] for line in enables) == {"55597971115"}, enables
    # Every rotation logged in once and out once (a refused enable too): nobody is left logged in.
    stats = moltest.sim_stats(HOST)
    assert not any(stats["sessions"].values()) and stats["sessions_ended_by_force"] == 0, stats
    summary = moltest.request_summary(moltest.new_requests(HOST))
    assert summary["consumers"] == {moltest.API_CONSUMER_ID}, summary
    assert summary["operations"]["Login"] == summary["operations"]["Logout"], summary
