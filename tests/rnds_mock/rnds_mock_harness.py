# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the mock RNDS auth server from tests (``server.py`` in a subprocess).

::

    from rnds_mock_harness import MockRnds
    with MockRnds(workdir, test_ca, deny_cnpjs=["11222333000181"]) as mock:
        mock.token_url      # https://127.0.0.1:PORT/api/token
        mock.ca_file        # PEM bundle that validates the mock's server certificate
        mock.tokens()       # tokens issued so far (to prove they never leak)

Certificates come from ``tests/ca/testca.py`` (generated at run time). The server trusts the
ICP-shaped test CA for client certificates; the non-ICP test CA is refused unless
``trust_other=True``.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
CA_DIR = os.path.join(os.path.dirname(HERE), "ca")
if CA_DIR not in sys.path:
    sys.path.insert(0, CA_DIR)

import testca  # noqa: E402  pylint: disable=wrong-import-position


class MockRnds:
    """Context manager running the mock on 127.0.0.1 (a free port chosen by the kernel)."""

    def __init__(self, workdir, ca, deny_serials=(), deny_cnpjs=(), force_status=0,
                 trust_other=False, scope="read-write", expires_in=1800, ready_timeout=30):
        self.workdir = str(workdir)
        self.ca = ca
        self.args = []
        for serial in deny_serials:
            self.args += ["--deny-serial", serial]
        for cnpj in deny_cnpjs:
            self.args += ["--deny-cnpj", cnpj]
        if force_status:
            self.args += ["--force-status", str(force_status)]
        self.args += ["--scope", scope, "--expires-in", str(expires_in)]
        self.trust_other = trust_other
        self.ready_timeout = ready_timeout
        self.process = None
        self.url = None
        self.token_log = os.path.join(self.workdir, "mock-tokens.log")
        self.ca_file = os.path.join(self.workdir, "mock-ca.pem")
        self.stderr_path = os.path.join(self.workdir, "mock-stderr.log")
        self._stderr = None

    @property
    def token_url(self):
        return self.url + "/api/token"

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        server = self.ca.issue_server("127.0.0.1")
        crt, key = testca.write_pem_files(self.workdir, server, "mock-server")
        with open(self.ca_file, "wb") as handle:
            handle.write(self.ca.ca_bundle_pem())
        client_ca = os.path.join(self.workdir, "mock-client-ca.pem")
        with open(client_ca, "wb") as handle:
            handle.write(self.ca.ca_bundle_pem(include_other=self.trust_other))
        self._stderr = open(self.stderr_path, "wb")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, SERVER, "--listen", "127.0.0.1:0", "--cert", crt, "--key", key,
             "--client-ca", client_ca, "--token-log", self.token_log] + self.args,
            stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL,
        )
        line = self._read_ready_line()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError("mock RNDS did not start: %r (stderr in %s)" % (line, self.stderr_path))
        self.url = line.split(" ", 1)[1].strip()
        return self

    def _read_ready_line(self):
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.ready_timeout
        data = b""
        try:
            while b"\n" not in data:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return data.decode("utf-8", "replace")
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                data += chunk
        finally:
            selector.close()
        return data.decode("utf-8", "replace").splitlines()[0] if data else ""

    def tokens(self):
        if not os.path.exists(self.token_log):
            return []
        with open(self.token_log, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]

    def stop(self):
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
            self.process.stdout.close()
            self.process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
