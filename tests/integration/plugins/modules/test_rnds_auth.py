# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rnds_auth: the module through `ansible localhost -m esus.rnds.rnds_auth` subprocesses.

Every network test talks to the mock RNDS auth server (tests/rnds_mock/server.py) on 127.0.0.1.
The DNS failure is produced without any DNS traffic: in the `ansible` subprocess a sitecustomize
shim refuses names under `.invalid`. module_utils/_rnds_auth.py in process:
tests/unit/plugins/modules/test_rnds_auth.py.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "rnds_mock"))
from rnds_auth_fixtures import PASSWORD, closed_port, leaves, mock, mock_ca, pfx  # noqa: E402,F401  pylint: disable=wrong-import-position,import-error,unused-import


SHIM = r'''
import os, socket, sys
_marker = os.environ.get("RNDS_TEST_SHIM_MARKER")
_getaddrinfo = socket.getaddrinfo
def _no_invalid(host, *args, **kwargs):
    if isinstance(host, str) and host.rstrip(".").endswith(".invalid"):
        if _marker:
            with open(_marker, "a") as handle:
                handle.write("dns %s\n" % host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _no_invalid
if os.environ.get("RNDS_TEST_NO_CRYPTOGRAPHY") == "1":
    sys.modules["cryptography"] = None
'''


@pytest.fixture
def shim_env(tmp_path):
    folder = tmp_path / "shim"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SHIM)
    marker = tmp_path / "shim-marker"
    env = {"PYTHONPATH": str(folder), "RNDS_TEST_SHIM_MARKER": str(marker)}
    return env, marker


def run_module(run_ansible, tmp_path, args, *extra, env_extra=None):
    """Run the module ad hoc; secrets go through a vars file, not the command line."""
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps({"rnds_test_args": args}, ensure_ascii=False))
    module_args = " ".join("%s={{ rnds_test_args.%s }}" % (key, key) for key in sorted(args))
    proc = run_ansible(
        "ansible", "localhost", "-m", "esus.rnds.rnds_auth", "-a", module_args,
        "-e", "@%s" % varfile, *extra, env_extra=env_extra,
    )
    output = proc.stdout + proc.stderr
    marker = "localhost | "
    assert marker in proc.stdout, output
    text = proc.stdout[proc.stdout.index(marker):]
    result = json.loads(text[text.index("{"):text.rindex("}") + 1])
    return proc, result, output


def test_module_authenticated_token_never_shown(run_ansible, tmp_path, mock, pfx):  # pylint: disable=redefined-outer-name
    before = set(mock.tokens())
    args = dict(path=pfx(flavour="legacy-rc2"), password=PASSWORD, url=mock.token_url, ca_path=mock.ca_file)
    proc, result, output = run_module(run_ansible, tmp_path, args, "-vvvv")
    assert proc.returncode == 0, output
    assert result["authenticated"] is True
    assert result["changed"] is False
    assert result["stage"] == "ok" and result["status_code"] == 200 and result["expires_in"] == 1800
    issued = set(mock.tokens()) - before
    assert len(issued) == 1
    for token in issued:
        assert token not in output
    assert PASSWORD not in output
    assert "access_token" not in output


def test_module_check_mode_still_authenticates(run_ansible, tmp_path, mock, pfx):  # pylint: disable=redefined-outer-name
    args = dict(path=pfx(), passphrase=PASSWORD, url=mock.token_url, ca_path=mock.ca_file)
    proc, result, output = run_module(run_ansible, tmp_path, args, "--check")
    assert proc.returncode == 0, output
    assert result["authenticated"] is True and result["changed"] is False


def test_module_refused_is_reported_not_failed(run_ansible, tmp_path, mock, pfx):  # pylint: disable=redefined-outer-name
    args = dict(path=pfx("other"), password=PASSWORD, url=mock.token_url, ca_path=mock.ca_file)
    proc, result, output = run_module(run_ansible, tmp_path, args)
    assert proc.returncode == 0, output
    assert result["authenticated"] is False and result["stage"] == "tls"


def test_module_fail_on_error(run_ansible, tmp_path, mock, pfx):  # pylint: disable=redefined-outer-name
    args = dict(path=pfx("denied"), password=PASSWORD, url=mock.token_url, ca_path=mock.ca_file,
                fail_on_error=True)
    proc, result, output = run_module(run_ansible, tmp_path, args, "-vvvv")
    assert proc.returncode != 0
    assert "FAILED" in proc.stdout
    assert result["stage"] == "http" and result["status_code"] == 403
    assert "credenciado" in result["msg"]
    assert PASSWORD not in output


def test_module_tcp_refused(run_ansible, tmp_path, pfx):  # pylint: disable=redefined-outer-name
    args = dict(path=pfx(), password=PASSWORD, url="https://127.0.0.1:%d/api/token" % closed_port())
    proc, result, output = run_module(run_ansible, tmp_path, args)
    assert proc.returncode == 0, output
    assert result["stage"] == "tcp"


def test_module_dns_failure_without_dns_traffic(run_ansible, tmp_path, pfx, shim_env):  # pylint: disable=redefined-outer-name
    env, marker = shim_env
    args = dict(path=pfx(), password=PASSWORD, url="https://ehr-auth.rnds.invalid/api/token")
    proc, result, output = run_module(run_ansible, tmp_path, args, env_extra=env)
    assert proc.returncode == 0, output
    assert result["stage"] == "dns"
    assert "ehr-auth.rnds.invalid" in result["diagnosis"]
    assert "dns ehr-auth.rnds.invalid" in marker.read_text()  # the shim answered, not a resolver


def test_module_host_without_cryptography_uses_openssl(run_ansible, tmp_path, mock, pfx, shim_env):  # pylint: disable=redefined-outer-name
    env, dummy = shim_env
    env["RNDS_TEST_NO_CRYPTOGRAPHY"] = "1"
    args = dict(path=pfx(flavour="legacy-rc2"), password=PASSWORD, url=mock.token_url, ca_path=mock.ca_file)
    proc, result, output = run_module(run_ansible, tmp_path, args, env_extra=env)
    assert proc.returncode == 0, output
    assert result["authenticated"] is True, result["diagnosis"]
    assert result["certificate_backend"] == "openssl"


@pytest.mark.parametrize("key", ["passphrase", "password"])
def test_module_wrong_password_names_the_option(run_ansible, tmp_path, pfx, key):  # pylint: disable=redefined-outer-name
    wrong = PASSWORD + " errada"
    args = {"path": pfx(), key: wrong, "url": "https://127.0.0.1:1/api/token", "fail_on_error": True,
            "option_labels": {"passphrase": "rnds_certificate_password"}}
    proc, result, output = run_module(run_ansible, tmp_path, args, "-vvvv")
    assert proc.returncode != 0, output
    assert result["stage"] == "certificate"
    assert result["msg"].startswith("Senha do certificado incorreta") and "confira rnds_certificate_password" in result["msg"]
    assert wrong not in output and PASSWORD not in output  # no_log on the option and on its alias


def test_module_rejects_plain_http_url(run_ansible, tmp_path, pfx):  # pylint: disable=redefined-outer-name
    args = dict(path=pfx(), password=PASSWORD, url="http://127.0.0.1:1/api/token")
    proc, result, dummy = run_module(run_ansible, tmp_path, args)
    assert proc.returncode != 0
    assert "https" in result["msg"]


@pytest.mark.parametrize("labels,shown", [(None, "ca_path"), ({"ca_path": "rnds_auth_ca_path"}, "rnds_auth_ca_path")])
def test_module_fails_on_missing_ca_path_even_without_fail_on_error(run_ansible, tmp_path, mock, pfx, labels, shown):  # pylint: disable=redefined-outer-name
    missing = str(tmp_path / "ac-que-nao-existe.pem")
    args = dict(path=pfx(), passphrase=PASSWORD, url=mock.token_url, ca_path=missing)
    if labels:
        args["option_labels"] = labels
    proc, result, output = run_module(run_ansible, tmp_path, args, env_extra={"SSL_CERT_FILE": mock.ca_file})
    assert proc.returncode != 0, output
    assert result["stage"] == "ca_path" and "%s=%s não existe" % (shown, missing) in result["msg"], result
    assert result["diagnosis"] == result["msg"] and "{option:" not in output
    assert PASSWORD not in output
