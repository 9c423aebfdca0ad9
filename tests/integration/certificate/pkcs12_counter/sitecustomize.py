# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test shim: count, from outside the collection, every PKCS#12 that cryptography opens.

Put this folder on PYTHONPATH and ESUS_TEST_PKCS12_LOG in the environment of an ansible-playbook
run: in each Python process of the run (the parent, its forked workers, module processes) every
successful ``pkcs12.load_key_and_certificates`` appends ``<pid> <sha256 of the file>`` to that log.
A call that fails (a wrong password candidate) opens nothing and writes nothing. Interpreters
without cryptography (a host module on an old Python) are left alone. See harness.pkcs12_opened().
"""

import hashlib
import os

_LOG = os.environ.get("ESUS_TEST_PKCS12_LOG")


def _install(log):
    try:
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:
        return
    original = pkcs12.load_key_and_certificates

    def load_key_and_certificates(data, password, *args, **kwargs):
        loaded = original(data, password, *args, **kwargs)
        line = "%d %s\n" % (os.getpid(), hashlib.sha256(bytes(data)).hexdigest())
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)
        return loaded

    pkcs12.load_key_and_certificates = load_key_and_certificates


if _LOG:
    _install(_LOG)
