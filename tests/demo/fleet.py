# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop simulated PEC installations on 127.0.0.1, read the PLAY RECAP (demo and benchmark).

Each simulator is a real process running ``tests/pec_simulator/server.py``; admin passwords are
handed over through a file readable only by the owner, never through the command line.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(REPO, "tests", "pec_simulator", "server.py")


class Simulator:
    """One running PEC simulator process."""

    def __init__(self, name, port, install_dir, admins, municipios, log_dir, python=None):
        self.name = name
        self.port = port
        self.install_dir = install_dir
        self.url = "http://127.0.0.1:%d" % port
        os.makedirs(install_dir, exist_ok=True)
        os.makedirs(log_dir, exist_ok=True)
        # The simulator is test tooling: it may run on another Python than the controller under test
        # (the version matrix and the install test run the demo on venvs without graphql-core).
        python = python or os.environ.get("ESUS_SIMULATOR_PYTHON") or sys.executable
        cmd = [python, SERVER, "--listen", "127.0.0.1:%d" % port, "--install-dir", install_dir]
        cmd += ["--admin-file", _admin_file(install_dir, admins)]
        for ibge, nome in municipios:
            cmd += ["--municipio", "%s:%s" % (ibge, nome) if nome else ibge]
        self.log_path = os.path.join(log_dir, name + ".log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log)

    def wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("simulador %s terminou (código %s); veja %s"
                                   % (self.name, self.proc.returncode, self.log_path))
            ready = select.select([self.proc.stdout], [], [], 0.2)[0]
            if ready:
                line += os.read(self.proc.stdout.fileno(), 4096)
                if b"pronto" in line:
                    return self
        raise RuntimeError("simulador %s não ficou pronto em %ss; veja %s" % (self.name, timeout, self.log_path))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _admin_file(install_dir, admins):
    """Write USER:PASSWORD[:IBGE] lines to a 0600 file under the install dir."""
    path = os.path.join(install_dir, ".admins")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for user, password, ibge in admins:
            handle.write("%s:%s%s\n" % (user, password, ":" + ibge if ibge else ""))
    return path


def start_all(specs, log_dir):
    """Start every simulator of ``specs`` (dicts with the Simulator arguments) and wait for all."""
    sims = [Simulator(log_dir=log_dir, **spec) for spec in specs]
    try:
        for sim in sims:
            sim.wait_ready()
    except Exception:
        stop_all(sims)
        raise
    return sims


def stop_all(sims):
    for sim in sims:
        sim.stop()


def recap(output):
    """{host: {'ok': n, 'changed': n, 'failed': n, 'unreachable': n}} from the PLAY RECAP."""
    stats = {}
    for match in re.finditer(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output, re.M):
        stats[match.group(1)] = dict(ok=int(match.group(2)), changed=int(match.group(3)),
                                     unreachable=int(match.group(4)), failed=int(match.group(5)))
    return stats
