# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract of the Windows branch: what esus.rnds sends to the ansible.windows modules.

No Windows host exists here. The playbooks run for hosts that present themselves as Windows
(``ansible_shell_type: powershell``, local connection) against stand-ins of the ansible.windows plugins
(see standin_windows.py) that check their arguments against the real modules' documentation and
record them; the PEC client runs on the controller against real PEC simulators, as it does for a
Windows server. This proves the calls (paths, ACL principals, order, no secret, check mode), not that
Windows accepts them: the README says the Windows path is untried on a real server.
"""

from __future__ import annotations

import json

import testca

CERT_PASSWORDS = {"sp": "Sênha $(win) 'pfx' " + testca.HARD_PASSWORD, "a": "cert-a-%s" % testca.HARD_PASSWORD,
                  "b": "cert-b-%s" % testca.HARD_PASSWORD}
ADMIN_PASSWORDS = {"sp": "Adm`in; & \"x\" 1", "consorcio": "Adm-Consórcio %&! 2"}
ADMINISTRATORS = "S-1-5-32-544"
SYSTEM = "S-1-5-18"
SERVICE_ACCOUNT = "NT SERVICE\\e-SUS-PEC"


def _fleet(lab, make_pkcs12, test_ca, **extra):
    """pec-win: one municipality in the default folder; pec-win-consorcio: two, in D:\\PEC\\e-SUS."""
    sp = make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="12345678000195"), password=CERT_PASSWORDS["sp"],
                     name="fms-3550308.pfx")
    a = make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="11222333000181"), password=CERT_PASSWORDS["a"],
                    name="fms-4106902.pfx", flavour="legacy-rc2")
    b = make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="60701190000104"), password=CERT_PASSWORDS["b"], name="fms-4314902.p12")
    admin_sp, admin_consorcio = lab.admin(1), lab.admin(2)
    lab.add_host(
        "pec-win", "C:\\Program Files\\e-SUS", admins=["%s:%s" % (admin_sp, ADMIN_PASSWORDS["sp"])],
        municipios=["3550308"],
        rnds_municipio_ibge="3550308", rnds_certificate_src=str(sp), rnds_certificate_password=CERT_PASSWORDS["sp"],
        rnds_requester_id="4507", rnds_pec_admin_user=admin_sp, rnds_pec_admin_password=ADMIN_PASSWORDS["sp"],
        rnds_pec_windows_service_account=SERVICE_ACCOUNT, **extra)
    lab.add_host(
        "pec-win-consorcio", "D:\\PEC\\e-SUS", admins=["%s:%s" % (admin_consorcio, ADMIN_PASSWORDS["consorcio"])],
        municipios=["4106902", "4314902"],
        # the inventory plugin's column, not the connection, says Windows here (the connection agrees)
        rnds_pec_os="windows", rnds_pec_install_dir="D:\\PEC\\e-SUS",
        rnds_pec_admin_user=admin_consorcio, rnds_pec_admin_password=ADMIN_PASSWORDS["consorcio"],
        rnds_municipios=[
            {"rnds_municipio_ibge": "4106902", "rnds_certificate_src": str(a),
             "rnds_certificate_password": CERT_PASSWORDS["a"], "rnds_requester_id": "4510"},
            {"rnds_municipio_ibge": "4314902", "rnds_certificate_src": str(b),
             "rnds_certificate_password": CERT_PASSWORDS["b"], "rnds_requester_id": "4511"},
        ], **extra)
    return {"fms-3550308.pfx": sp, "fms-4106902.pfx": a, "fms-4314902.p12": b}


def _calls(records, host):
    return [(r["module"], r["args"]) for r in records if r["host"] == host]


def assert_no_secret(*texts):
    for text in texts:
        for secret in list(CERT_PASSWORDS.values()) + list(ADMIN_PASSWORDS.values()):
            assert secret not in text


def test_site_check_converge_idempotence_and_audit(windows_lab, make_pkcs12, test_ca):
    certs = _fleet(windows_lab, make_pkcs12, test_ca)
    before = windows_lab.tree()
    pec_before = {name: sim.state() for name, sim in windows_lab.sims.items()}

    # --check on fresh servers: chaves does not exist, so only win_file is asked (in check mode) and nothing changes.
    proc = windows_lab.playbook("site.yml", "--check", "--diff")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    records = windows_lab.records()
    assert records and all(r["check_mode"] is True and not r["errors"] for r in records), records
    assert [r["module"] for r in records] == ["ansible.windows.win_file"] * 2
    assert windows_lab.tree() == before
    assert {name: sim.state() for name, sim in windows_lab.sims.items()} == pec_before
    assert_no_secret(out, windows_lab.log.read_text(encoding="utf-8"))

    # The real run, verbose: every call, in order, with Windows paths and well-known SIDs.
    windows_lab.clear_records()
    proc = windows_lab.playbook("site.yml", "-vvv")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert all(r["changed"] > 0 and r["failed"] == 0 for r in windows_lab.recap(proc.stdout).values()), proc.stdout
    records = windows_lab.records()
    assert all(r["check_mode"] is False and not r["errors"] for r in records), records
    # every module called is one the collection declares (the execution environment pins ansible.windows for them)
    from ansible_collections.esus.rnds.plugins.plugin_utils import _windows_chaves  # pylint: disable=import-outside-toplevel
    assert set(r["module"] for r in records) == set("ansible.windows." + m for m in _windows_chaves.MODULES)
    chaves = "C:\\Program Files\\e-SUS\\webserver\\chaves"
    assert _calls(records, "pec-win") == [
        ("ansible.windows.win_file", {"path": chaves, "state": "directory"}),
        ("ansible.windows.win_acl", {"path": chaves, "user": ADMINISTRATORS, "rights": "FullControl", "type": "allow",
                                     "state": "present"}),
        ("ansible.windows.win_acl", {"path": chaves, "user": SYSTEM, "rights": "FullControl", "type": "allow",
                                     "state": "present"}),
        ("ansible.windows.win_acl", {"path": chaves, "user": SERVICE_ACCOUNT, "rights": "ReadAndExecute",
                                     "type": "allow", "state": "present"}),
        ("ansible.windows.win_acl_inheritance", {"path": chaves, "state": "absent", "reorganize": False}),
        ("ansible.windows.win_copy", {"src": str(certs["fms-3550308.pfx"].resolve()),
                                      "dest": chaves + "\\fms-3550308.pfx", "decrypt": True, "force": True,
                                      "backup": True}),
    ]
    consorcio = _calls(records, "pec-win-consorcio")
    chaves_d = "D:\\PEC\\e-SUS\\webserver\\chaves"
    assert [module.rsplit(".", 1)[1] for module, dummy in consorcio] == [
        "win_file", "win_acl", "win_acl", "win_acl_inheritance", "win_copy", "win_copy"]
    assert [args["user"] for module, args in consorcio if module.endswith("win_acl")] == [ADMINISTRATORS, SYSTEM]
    assert [args["dest"] for module, args in consorcio if module.endswith("win_copy")] == [
        chaves_d + "\\fms-4106902.pfx", chaves_d + "\\fms-4314902.p12"]
    for module, args in consorcio:
        for key in ("path", "dest"):
            if key in args:
                assert args[key].startswith(chaves_d) and "/" not in args[key], args
    # the files are where the PEC looks, byte for byte, and the PEC enabled them
    for host, root in (("pec-win", "C:\\Program Files\\e-SUS"), ("pec-win-consorcio", "D:\\PEC\\e-SUS")):
        chaves_dir = windows_lab.local(root) / "webserver" / "chaves"
        for name in sorted(p.name for p in chaves_dir.iterdir()):
            assert (chaves_dir / name).read_bytes() == certs[name].read_bytes()
        assert windows_lab.acls()[root + "\\webserver\\chaves"]["inherit"] is False
    states = windows_lab.sims["pec-win-consorcio"].state()
    assert "4106902" in str(states) and "fms-4314902.p12" in str(states)
    assert "fms-3550308.pfx" in str(windows_lab.sims["pec-win"].state())
    assert_no_secret(out, windows_lab.log.read_text(encoding="utf-8"))

    # Idempotence: the same calls, nothing changes.
    windows_lab.clear_records()
    settled = windows_lab.tree()
    proc = windows_lab.playbook("site.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in windows_lab.recap(proc.stdout).values()), proc.stdout
    assert len(windows_lab.records()) == 6 + 6 and windows_lab.tree() == settled

    # --check once deployed: every call made in check mode, nothing changes.
    windows_lab.clear_records()
    proc = windows_lab.playbook("site.yml", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(windows_lab.records()) == 12 and all(r["check_mode"] for r in windows_lab.records())
    assert windows_lab.tree() == settled

    # The audit reads the PECs from the controller; Windows servers get no pec_info and no ansible.windows call.
    windows_lab.clear_records()
    proc = windows_lab.playbook("audit.yml", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert windows_lab.records() == []
    report = dict((h["host"], h) for h in json.loads((windows_lab.reports / "rnds-report.json").read_text())["hosts"])
    assert report["pec-win"]["rnds_enabled"] is True and report["pec-win-consorcio"]["rnds_enabled"] is True, report
    assert not [p for h in report.values() for p in h["problem_details"] if p["severity"] == "error"], report
    assert_no_secret(proc.stdout + proc.stderr, (windows_lab.reports / "rnds-report.json").read_text())


def test_refusals_before_any_windows_call(windows_lab, make_pkcs12, test_ca):
    _fleet(windows_lab, make_pkcs12, test_ca, rnds_certificate_prune=True)
    proc = windows_lab.playbook("site.yml")
    assert windows_lab.recap(proc.stdout)["pec-win"]["failed"] == 1
    assert "rnds_certificate_prune ainda não é suportado em servidores Windows" in proc.stdout
    assert windows_lab.records() == []

    # The inventory says Windows, the connection does not run PowerShell: refused before anything is sent.
    windows_lab.hosts["pec-win-consorcio"] = dict(windows_lab.hosts["pec-win-consorcio"], ansible_shell_type="sh",
                                                  rnds_certificate_prune=False)
    windows_lab.hosts["pec-win"] = dict(windows_lab.hosts["pec-win"], rnds_pec_os="Linux", rnds_certificate_prune=False)
    proc = windows_lab.playbook("site.yml")
    result = windows_lab.recap(proc.stdout)
    assert result["pec-win"]["failed"] == 1 and result["pec-win-consorcio"]["failed"] == 1, proc.stdout
    assert "o inventário diz que pec-win-consorcio é um servidor Windows (rnds_pec_os: windows)" in proc.stdout
    assert "a conexão com pec-win usa PowerShell (servidor Windows), mas o inventário diz rnds_pec_os: Linux" \
        in proc.stdout
    assert windows_lab.records() == []
