# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mock RNDS auth server itself (tests/rnds_mock/server.py), on 127.0.0.1 only."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import sys

import pytest

import testca

MOCK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "rnds_mock")
sys.path.insert(0, MOCK_DIR)
from rnds_mock_harness import SERVER, MockRnds  # noqa: E402  pylint: disable=wrong-import-position,import-error


@pytest.fixture(scope="module")
def ca():
    return testca.TestCA()


@pytest.fixture(scope="module")
def clients(ca, tmp_path_factory):  # pylint: disable=redefined-outer-name
    folder = str(tmp_path_factory.mktemp("clients"))
    leaves = {
        "ok": ca.issue_ecnpj(cnpj="12345678000195"),
        "denied": ca.issue_ecnpj(cnpj="11222333000181"),
        "other": ca.issue_ecnpj(cnpj="60701190000104", icp=False),
    }
    files = {name: testca.write_pem_files(folder, leaf, name) for name, leaf in leaves.items()}
    return leaves, files


def get(mock, files=None, path="/api/token"):
    context = ssl.create_default_context(cafile=mock.ca_file)
    if files:
        context.load_cert_chain(*files)
    conn = http.client.HTTPSConnection("127.0.0.1", int(mock.url.rsplit(":", 1)[1]), context=context, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read().decode("utf-8"))
    finally:
        conn.close()


def test_token_for_icp_client(tmp_path, ca, clients):  # pylint: disable=redefined-outer-name
    with MockRnds(tmp_path, ca, scope="escopo-teste", expires_in=900) as mock:
        assert mock.url.startswith("https://127.0.0.1:")
        status, body = get(mock, clients[1]["ok"])
        assert status == 200
        assert set(body) == {"access_token", "scope", "token_type", "expires_in"}
        assert body["token_type"] == "jwt" and body["expires_in"] == 900 and body["scope"] == "escopo-teste"
        assert mock.tokens() == [body["access_token"]]
        second = get(mock, clients[1]["ok"])[1]["access_token"]
        assert second != body["access_token"]


@pytest.mark.parametrize("which", [None, "other"])
def test_handshake_refused_without_trusted_client_cert(tmp_path, ca, clients, which):  # pylint: disable=redefined-outer-name
    with MockRnds(tmp_path, ca) as mock:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            get(mock, clients[1][which] if which else None)
        assert mock.tokens() == []
        # the server keeps serving after a refused handshake
        assert get(mock, clients[1]["ok"])[0] == 200


def test_other_ca_accepted_when_trusted(tmp_path, ca, clients):  # pylint: disable=redefined-outer-name
    with MockRnds(tmp_path, ca, trust_other=True) as mock:
        assert get(mock, clients[1]["other"])[0] == 200


def test_deny_list_gives_403(tmp_path, ca, clients):  # pylint: disable=redefined-outer-name
    leaves, files = clients
    serial = "%x" % leaves["ok"].cert.serial_number
    with MockRnds(tmp_path, ca, deny_cnpjs=["11.222.333/0001-81"], deny_serials=[serial]) as mock:
        assert get(mock, files["denied"])[0] == 403
        status, body = get(mock, files["ok"])
        assert status == 403 and "credenciado" in body["message"]
        assert mock.tokens() == []


def test_unknown_path_and_forced_status(tmp_path, ca, clients):  # pylint: disable=redefined-outer-name
    with MockRnds(tmp_path / "a", ca) as mock:
        assert get(mock, clients[1]["ok"], path="/api/outra")[0] == 404
    with MockRnds(tmp_path / "b", ca, force_status=500) as mock:
        assert get(mock, clients[1]["ok"])[0] == 500


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "192.0.2.1:0", "example.org:0"])
def test_refuses_non_loopback_addresses(listen):
    proc = subprocess.run(
        [sys.executable, SERVER, "--listen", listen, "--cert", "x", "--key", "x", "--client-ca", "x"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 2
    assert "loopback" in proc.stderr
    assert "READY" not in proc.stdout


def test_stops_on_sigterm(tmp_path, ca):  # pylint: disable=redefined-outer-name
    mock = MockRnds(tmp_path, ca).start()
    process = mock.process
    try:
        process.terminate()
        assert process.wait(10) == 0
    finally:
        mock.stop()
