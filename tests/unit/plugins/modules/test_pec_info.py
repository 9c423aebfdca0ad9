# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pec_info module in process against temporary installations.

For real with ``ansible``: tests/integration/plugins/modules/test_pec_info.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile

import pytest

from ansible_collections.esus.rnds.plugins.modules import pec_info
from ansible_collections.esus.rnds.plugins.plugin_utils import _report


@pytest.fixture
def install(tmp_path):
    root = tmp_path / "e-SUS"
    (root / "webserver" / "config").mkdir(parents=True)
    return root


def _props(install, text):
    (install / "webserver" / "config" / "application.properties").write_text(text, encoding="utf-8")


def test_missing_installation(tmp_path, module_main):
    code, result = module_main(pec_info, {"install_dir": str(tmp_path / "nada")})
    assert code == 0 and result["changed"] is False
    assert result["exists"] is False and result["version"] is None
    assert result["port"] == 8080 and result["https"] is False and result["url"] == "http://127.0.0.1:8080"
    assert result["chaves"]["exists"] is False and result["chaves"]["files"] == []
    assert result["service"]["name"] == "e-SUS-PEC" and result["service"]["state"] in ("running", "stopped", "unknown")
    assert any("não existe" in p for p in result["problems"])


def test_full_installation(install, module_main):
    _props(install, "\n".join([
        "# comentário",
        "server.port = 8443",
        "server.ssl.enabled: true",
        "server.ssl.key-store=/opt/e-SUS/webserver/config/keystore.p12",
        "server.ssl.key-store-password=SEGREDO-DO-KEYSTORE",
        "spring.datasource.password=SEGREDO-DO-BANCO",
        "pec.version=5.3.19",
        "longa=a \\",
        "   b",
    ]))
    chaves = install / "webserver" / "chaves"
    chaves.mkdir(mode=0o755)
    os.chmod(str(chaves), 0o755)
    (chaves / "fms.pfx").write_bytes(b"pfx")
    os.chmod(str(chaves / "fms.pfx"), 0o644)
    (chaves / "fms.cer").write_bytes(b"cer")
    (chaves / "notas.txt").write_bytes(b"")
    os.chmod(str(chaves / "notas.txt"), 0o640)
    os.symlink("fms.pfx", str(chaves / "link.p12"))
    (install / "webserver" / "Chaves").mkdir()
    code, result = module_main(pec_info, {"install_dir": str(install), "service_name": "servico-que-nao-existe"})
    assert code == 0
    assert result["exists"] is True and result["port"] == 8443 and result["https"] is True
    assert result["url"] == "https://127.0.0.1:8443"
    assert result["ssl"]["key_store"] == "/opt/e-SUS/webserver/config/keystore.p12"
    assert "SEGREDO" not in json.dumps(result)
    assert result["version"] == "5.3.19"
    assert result["service"]["state"] in ("stopped", "unknown")
    info = result["chaves"]
    assert info["exists"] and info["is_dir"] and not info["is_symlink"]
    assert info["mode"] == "0755" and info["world_accessible"] is True
    files = {f["name"]: f for f in info["files"]}
    assert sorted(files) == ["fms.cer", "fms.pfx", "link.p12", "notas.txt"]
    assert files["fms.pfx"]["kind"] == "pkcs12" and files["fms.pfx"]["world_readable"] is True
    assert files["fms.pfx"]["sha256"] == hashlib.sha256(b"pfx").hexdigest() and files["fms.pfx"]["size"] == 3
    assert files["fms.pfx"]["owner"] == "root" and files["fms.pfx"]["mode"] == "0644"
    assert files["fms.cer"]["kind"] == "cer" and files["notas.txt"]["kind"] == "other"
    assert files["link.p12"]["is_symlink"] is True and files["link.p12"]["sha256"] is None
    assert result["chaves_variants"] == ["Chaves"]
    problems = " | ".join(result["problems"])
    assert "acessível a todos" in problems and "pode ser lido por todos" in problems
    assert "sem a chave privada" in problems and "Chaves" in problems
    details = result["problem_details"]
    assert [d["message"] for d in details] == result["problems"]
    found = sorted((d["code"], d["severity"], d["params"].get("name", "")) for d in details)
    assert found == [
        ("cer_file", "warning", "fms.cer"),
        ("chaves_case_variant", "warning", ""),
        ("chaves_world_accessible", "error", ""),
        ("file_world_readable", "error", "fms.pfx"),
        ("file_world_readable", "error", "link.p12"),  # a link in chaves: lstat mode 0777
    ], found
    assert details[0]["params"]["path"] == str(chaves)


def test_problems_are_the_fleet_reports_words(install, module_main):
    """pec_info and the report run the same check on the same result and say the same sentences."""
    chaves = install / "webserver" / "chaves"
    chaves.mkdir()
    os.chmod(str(chaves), 0o777)
    (chaves / "fms.cer").write_bytes(b"cer")
    (install / "webserver" / "CHAVES").mkdir()
    code, result = module_main(pec_info, {"install_dir": str(install)})
    assert [d["code"] for d in result["problem_details"]] == [
        "chaves_world_accessible", "cer_file", "no_certificate_file", "chaves_case_variant"]
    entry = _report.evaluate_host("pec", result, None, None, {"certificate_name": ""})
    reported = [(p["code"], p["severity"], p["message"]) for p in entry["problem_details"] if p["code"] != "rnds_info_missing"]
    assert sorted(reported) == sorted((d["code"], d["severity"], d["message"]) for d in result["problem_details"])
    # the report knows which file the inventory expects: it names that file instead of "no .pfx/.p12"
    entry = _report.evaluate_host("pec", result, None, None, {"certificate_name": "fms.pfx"})
    codes = [p["code"] for p in entry["problem_details"]]
    assert "no_certificate_file" not in codes and "certificate_file_missing" in codes


def test_missing_installation_names_the_option_or_its_label(tmp_path, module_main):
    missing = str(tmp_path / "nada")
    code, result = module_main(pec_info, {"install_dir": missing})
    [detail] = result["problem_details"]
    assert detail["code"] == "pec_not_installed" and detail["severity"] == "error"
    assert "Confira install_dir" in detail["message"] and missing in detail["message"]
    code, result = module_main(pec_info, {"install_dir": missing, "option_labels": {"install_dir": "rnds_pec_install_dir"}})
    [detail] = result["problem_details"]
    assert "Confira rnds_pec_install_dir" in detail["message"]
    # the report shows the audit role's variable: the same sentence
    entry = _report.evaluate_host("pec", result, None, None, None)
    assert entry["problems"] == [detail["message"]]


def test_properties_parser(tmp_path):
    path = tmp_path / "a.properties"
    path.write_text("a=1\nb : 2\nc 3\n! comentário\nd=x\\\n  y\\\n  z\ne\\=f=4\n", encoding="utf-8")
    props = pec_info.read_properties(str(path))
    assert props["a"] == "1" and props["b"] == "2" and props["c"] == "3"
    assert props["d"] == "xyz" and props["e=f"] == "4"


def test_https_from_key_store_and_address(install, module_main):
    _props(install, "server.ssl.key-store=keystore.p12\nserver.address=10.0.0.5\n")
    code, result = module_main(pec_info, {"install_dir": str(install)})
    assert result["https"] is True and result["port"] == 8080 and result["url"] == "https://10.0.0.5:8080"
    _props(install, "server.ssl.key-store=keystore.p12\nserver.ssl.enabled=false\nserver.port=abc\n")
    code, result = module_main(pec_info, {"install_dir": str(install)})
    assert result["https"] is False and result["port"] == 8080
    _props(install, "server.port=8443\nserver.ssl.certificate=/x/cert.pem\nserver.ssl.certificate-private-key=/x/k.pem\n")
    code, result = module_main(pec_info, {"install_dir": str(install)})
    assert result["https"] is True and result["url"] == "https://127.0.0.1:8443"
    assert result["ssl"]["certificate"] == "/x/cert.pem" and "k.pem" not in json.dumps(result)


def test_version_sources(install, module_main):
    jar = install / "webserver" / "standalone.jar"
    with zipfile.ZipFile(str(jar), "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nImplementation-Version: 5.2.28\n")
    code, result = module_main(pec_info, {"install_dir": str(install)})
    assert result["version"] == "5.2.28" and result["version_source"] == str(jar)
    (install / "webserver" / "VERSION").write_text("PEC versão 5.3.21-rc1\n", encoding="utf-8")
    code, result = module_main(pec_info, {"install_dir": str(install)})
    assert result["version"] == "5.3.21-rc1"


def test_no_checksum(install, module_main):
    chaves = install / "webserver" / "chaves"
    chaves.mkdir()
    (chaves / "a.pfx").write_bytes(b"x")
    code, result = module_main(pec_info, {"install_dir": str(install), "checksum": False})
    assert result["chaves"]["files"][0]["sha256"] is None
    assert not any(p.startswith("nenhum arquivo") for p in result["problems"])


class _FakeModule(object):
    def __init__(self, binary, answer=None, error=None):
        self.binary, self.answer, self.error = binary, answer, error

    def get_bin_path(self, name):
        return self.binary

    def run_command(self, args):
        if self.error:
            raise self.error
        return 3, self.answer, ""


@pytest.mark.parametrize("binary,answer,error,state", [
    (None, None, None, "unknown"),
    ("/bin/systemctl", "active\n", None, "running"),
    ("/bin/systemctl", "inactive\n", None, "stopped"),
    ("/bin/systemctl", "failed\n", None, "stopped"),
    ("/bin/systemctl", "", None, "unknown"),
    ("/bin/systemctl", "System has not been booted with systemd\n", None, "unknown"),
    ("/bin/systemctl", None, OSError("boom"), "unknown"),
])
def test_service_state(binary, answer, error, state):
    assert pec_info.service_state(_FakeModule(binary, answer, error), "e-SUS-PEC")["state"] == state
