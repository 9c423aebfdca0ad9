# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hostile PEC that echoes the request in its errors never makes a password show.

Seven simulated PECs, one per echo encoding of the simulator's ``echo`` fault (raw, JSON,
upper-case, HTML, URL, base64, \\uXXXX): each error message the PEC sends carries the request
body, passwords included, in that encoding. Every host has a wrong admin password in the
inventory, so the login fails with an echoed refusal (the request carries it); the audit then
asks again (the controller remembers the refusal and sends nothing). Both
runs at -vvvv; the output and the three report files are searched for every secret in every
form the collection's scrubber knows, and in the forms of the other hardening tests.
"""

import json
import os

import hardening_lab
from ansible_collections.esus.rnds.plugins.module_utils import _sanitize

MODES = ("raw", "json", "upper", "html", "url", "base64", "unicode")
IBGES = ("3550308", "3304557", "3106200", "4106902", "4314902", "5300108", "2304400")


def test_an_echoing_pec_never_leaks_a_password_at_vvvv_nor_in_the_report(lab):
    hosts = []
    for mode, ibge in zip(MODES, IBGES):
        host = lab.add_host("pec-eco-%s" % mode, ibge=ibge, faults=["echo=%s" % mode])
        wrong, core = hardening_lab.password("errada" + mode)
        host.inventory_admin_password = wrong
        lab.secrets.add("senha de administrador errada (%s)" % mode, wrong, core)
        hosts.append((mode, host, wrong))
    site = lab.run("site.yml", "-vvvv")
    audit = lab.run("audit.yml", "-vvvv", "--check")
    for mode, host, _wrong in hosts:
        assert site.recap[host.name]["failed"] == 1, (mode, site.output[-3000:])
    # the refusals were echoed, then dropped and said (not vacuous)
    assert site.output.count("mensagem do servidor omitida") >= len(MODES), site.output[-3000:]
    reports = [os.path.join(lab.reports, name) for name in ("rnds-report.json", "rnds-report.csv",
                                                            "rnds-report.html")]
    texts = {"site": site.output, "audit": audit.output}
    for path in reports:
        with open(path, encoding="utf-8-sig") as handle:
            texts[os.path.basename(path)] = handle.read()
    secrets = [value for _label, value in lab.secrets.items]
    for label, text in texts.items():
        assert not _sanitize.contains_secret(text, secrets), label
        found = lab.secrets.find(text)
        assert not found, (label, found)
    report = json.loads(texts["rnds-report.json"])
    assert {h["host"] for h in report["hosts"]} == {host.name for _m, host, _w in hosts}
