# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest fixtures of the rnds_auth tests of both tiers (import them into the test module)::

    from rnds_auth_fixtures import DENIED_CNPJ, PASSWORD, closed_port, leaves, mock, mock_ca, pfx

``mock_ca``  module-scoped test CA of the mock (its own, so the system store never trusts it).
``leaves``   e-CNPJ leaves: ``ok`` (credenciado), ``denied`` (CNPJ the mock answers 403), ``other``
             (from the non-ICP CA, refused in the TLS handshake).
``mock``     module-scoped MockRnds on 127.0.0.1 denying ``DENIED_CNPJ``.
``pfx``      factory ``pfx(which="ok", flavour="aes", password=PASSWORD, **kwargs)`` -> path (str).
"""

from __future__ import annotations

import socket

import pytest

import testca
from rnds_mock_harness import MockRnds

PASSWORD = testca.HARD_PASSWORD
DENIED_CNPJ = "11222333000181"


@pytest.fixture(scope="module")
def mock_ca():
    return testca.TestCA()


@pytest.fixture(scope="module")
def leaves(mock_ca):  # pylint: disable=redefined-outer-name
    return {
        "ok": mock_ca.issue_ecnpj(cnpj="12345678000195"),
        "denied": mock_ca.issue_ecnpj(cnpj=DENIED_CNPJ, name="FUNDO MUNICIPAL NAO CREDENCIADO"),
        "other": mock_ca.issue_ecnpj(cnpj="60701190000104", icp=False),
    }


@pytest.fixture(scope="module")
def mock(tmp_path_factory, mock_ca):  # pylint: disable=redefined-outer-name
    with MockRnds(tmp_path_factory.mktemp("mock-rnds"), mock_ca, deny_cnpjs=[DENIED_CNPJ]) as server:
        yield server


@pytest.fixture
def pfx(tmp_path, leaves):  # pylint: disable=redefined-outer-name
    def factory(which="ok", flavour="aes", password=PASSWORD, **kwargs):
        path = tmp_path / ("%s-%s.pfx" % (which, flavour))
        testca.write_pkcs12(str(path), leaves[which], password, flavour=flavour, **kwargs)
        return str(path)

    return factory


def closed_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
