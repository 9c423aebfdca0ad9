# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mock of the RNDS authentication endpoint (tests and demo only; Python standard library).

Mutual TLS like the real service: the client must present a certificate issued by one of the
CAs in ``--client-ca`` (CERT_REQUIRED), otherwise the TLS handshake fails. ``GET /api/token``
answers::

    {"access_token": "<random>", "scope": "<--scope>", "token_type": "jwt", "expires_in": 1800}

Usage::

    python3 tests/rnds_mock/server.py --listen 127.0.0.1:0 --cert server.crt --key server.key \\
        --client-ca ca-bundle.pem [--deny-serial HEX]... [--deny-cnpj CNPJ]... \\
        [--force-status CODE] [--token-log FILE] [--scope S] [--expires-in N] [--quiet]

- Listens on loopback addresses only (127.0.0.0/8, ::1, localhost).
- ``--deny-serial`` / ``--deny-cnpj``: the certificate is accepted in TLS but the request gets
  HTTP 403, like a certificate that is valid but not credenciado. The CNPJ is read from the
  subject CN (ICP-Brasil convention ``RAZAO SOCIAL:CNPJ``).
- ``--force-status``: every token request gets this HTTP status (fault tests).
- ``--token-log``: each token issued is appended to this file (tests check it never leaks).
- Prints one readiness line on stdout once it accepts connections: ``READY https://HOST:PORT``.
- Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_PATH = "/api/token"
DEFAULT_SCOPE = "read-write"
HANDSHAKE_TIMEOUT = 10


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(value):
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("use HOST:PORT, for example 127.0.0.1:0")
    host = host.strip("[]")
    if not is_loopback(host):
        raise argparse.ArgumentTypeError("only loopback addresses are allowed (got %s)" % host)
    return host, int(port)


def normalize_serial(value):
    return value.replace(":", "").lstrip("0").upper() or "0"


def peer_cnpj(cert):
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and ":" in value:
                return value.rsplit(":", 1)[1].strip()
    return None


class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, context, options):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)
        self.context = context
        self.options = options
        self.lock = threading.Lock()

    def get_request(self):
        sock, address = self.socket.accept()
        # Handshake in the handler thread: a slow client never blocks the accept loop.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class Handler(BaseHTTPRequestHandler):
    server_version = "rnds-mock/1"
    protocol_version = "HTTP/1.1"

    handshake_ok = False

    def setup(self):
        self.request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            self.request.do_handshake()
            self.handshake_ok = True
        except (ssl.SSLError, OSError) as exc:
            self.log_message("TLS handshake refused: %s", getattr(exc, "reason", None) or exc)
        super().setup()

    def handle(self):
        if not self.handshake_ok:
            return
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError):
            pass

    def finish(self):
        try:
            super().finish()
        except (ssl.SSLError, OSError):
            pass

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if not self.server.options.quiet:
            sys.stderr.write("rnds-mock: %s\n" % (format % args))

    def _send_json(self, status, payload):
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # pylint: disable=invalid-name
        options = self.server.options
        if self.path.split("?", 1)[0] != TOKEN_PATH:
            self._send_json(404, {"error": "not_found", "message": "Recurso não encontrado."})
            return
        cert = self.request.getpeercert() or {}
        serial = normalize_serial(cert.get("serialNumber", ""))
        cnpj = peer_cnpj(cert)
        if options.force_status:
            self._send_json(options.force_status, {"error": "forced", "message": "Falha simulada."})
            return
        if serial in options.deny_serials or (cnpj and cnpj in options.deny_cnpjs):
            self._send_json(403, {
                "error": "forbidden",
                "message": "Certificado não credenciado para acesso à RNDS.",
            })
            return
        token = secrets.token_urlsafe(48)
        if options.token_log:
            with self.server.lock:
                with open(options.token_log, "a", encoding="utf-8") as handle:
                    handle.write(token + "\n")
        self._send_json(200, {
            "access_token": token,
            "scope": options.scope,
            "token_type": "jwt",
            "expires_in": options.expires_in,
        })


def build_context(cert, key, client_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=client_ca)
    return context


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Mock RNDS authentication endpoint (mutual TLS)")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0))
    parser.add_argument("--cert", required=True, help="server certificate (PEM, chain allowed)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--client-ca", required=True, help="CA bundle trusted for client certificates")
    parser.add_argument("--deny-serial", action="append", default=[], help="certificate serial (hex)")
    parser.add_argument("--deny-cnpj", action="append", default=[])
    parser.add_argument("--force-status", type=int, default=0)
    parser.add_argument("--token-log")
    parser.add_argument("--scope", default=DEFAULT_SCOPE)
    parser.add_argument("--expires-in", type=int, default=1800)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    args.deny_serials = {normalize_serial(s) for s in args.deny_serial}
    args.deny_cnpjs = {c.replace(".", "").replace("/", "").replace("-", "").upper() for c in args.deny_cnpj}
    return args


def main(argv=None):
    args = parse_args(argv)
    context = build_context(args.cert, args.key, args.client_ca)
    server = MockServer(args.listen, context, args)
    host, port = server.server_address[:2]
    shown = "[%s]" % host if ":" in host else host

    def stop(signum, frame):  # pylint: disable=unused-argument
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("READY https://%s:%d\n" % (shown, port))
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())
