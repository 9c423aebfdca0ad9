# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates for the Molecule scenarios, generated on the controller at test time.

Reads a JSON catalogue (the ``molecule_certificates`` inventory variable, written by
``molecule/shared/prepare.yml`` to a 0600 file) and writes one PKCS#12 file per entry with the
test CA of ``tests/ca/testca.py``, plus ``manifest.json`` (no passwords in it)::

    python3 molecule/shared/fixtures.py --spec SPEC.json --out DIR

Catalogue entry (key = file name)::

    {"password": "...", "cnpj": "12345678000195", "days": 365, "flavour": "aes"|"3des"|"legacy-rc2",
     "valid_from_days": -1}

``days`` counts from now; a negative value gives a certificate that is already expired.
``valid_from_days`` moves notBefore (default: one day ago).

``manifest.json``: ``{"files": {NAME: {"sha256", "fingerprint_sha256", "not_after", "cnpj",
"flavour"}}}``. Nothing is ever written outside ``--out``; key material is never committed.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "ca"))

from testca import TestCA, write_pkcs12  # noqa: E402  pylint: disable=wrong-import-position

from cryptography.hazmat.primitives import hashes  # noqa: E402  pylint: disable=wrong-import-position


def _sha256(path):
    with open(path, "rb") as handle:  # a PKCS#12 of a few KiB
        return hashlib.sha256(handle.read()).hexdigest()


def build(spec, out):
    """Write every certificate of ``spec`` to ``out``; return the manifest."""
    os.makedirs(out, mode=0o700, exist_ok=True)
    ca = TestCA()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    files = {}
    for index, name in enumerate(sorted(spec)):
        entry = spec[name]
        if os.path.basename(name) != name or not name.lower().endswith((".pfx", ".p12")):
            raise ValueError("nome de certificado inválido no catálogo: %r" % name)
        days = int(entry.get("days", 365))
        not_before = now + datetime.timedelta(days=int(entry.get("valid_from_days", -1)))
        not_after = now + datetime.timedelta(days=days)
        if not_after <= not_before:
            not_before = not_after - datetime.timedelta(days=365)
        cnpj = str(entry.get("cnpj") or "12345678000195")
        leaf = ca.issue_ecnpj(cnpj=cnpj, name="FUNDO MUNICIPAL DE SAUDE MOLECULE %d" % index,
                              not_before=not_before, not_after=not_after)
        flavour = entry.get("flavour", "aes")
        path = os.path.join(out, name)
        write_pkcs12(path, leaf, str(entry["password"]), flavour=flavour)
        files[name] = {
            "sha256": _sha256(path),
            "fingerprint_sha256": leaf.cert.fingerprint(hashes.SHA256()).hex(),
            "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cnpj": cnpj,
            "flavour": flavour,
        }
    manifest = {"files": files}
    fd = os.open(os.path.join(out, "manifest.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description="Certificados de teste dos cenários Molecule")
    parser.add_argument("--spec", required=True, help="catálogo JSON (molecule_certificates)")
    parser.add_argument("--out", required=True, help="pasta de saída")
    args = parser.parse_args(argv)
    with open(args.spec, encoding="utf-8") as handle:
        spec = json.load(handle)
    manifest = build(spec, args.out)
    print(json.dumps({"certificados": sorted(manifest["files"]), "pasta": args.out}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
