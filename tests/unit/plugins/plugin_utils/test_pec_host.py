# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils/_pec_host.py: the one place that derives a host's values from its variables."""

from __future__ import annotations

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.esus.rnds.plugins.filter.pec_os import FilterModule
from ansible_collections.esus.rnds.plugins.plugin_utils import _pec_host

try:  # ansible-core >= 2.19: only strings marked as trusted templates are rendered
    from ansible.template import trust_as_template
except ImportError:  # 2.16 - 2.18: every string is a template
    def trust_as_template(value):
        return value


@pytest.mark.parametrize("declared, shell, connection, family, expected", [
    ("windows", "", "", "", "Windows"),
    ("Windows", "sh", "ssh", "", "Windows"),        # the spreadsheet wins over the connection
    ("LINUX", "powershell", "", "", "Linux"),
    ("", "powershell", "ansible.builtin.ssh", "", "Windows"),
    ("", "", "ansible.windows.winrm", "", "Windows"),
    ("", "", "psrp", "", "Windows"),
    ("", "", "", "Windows", "Windows"),
    (None, None, None, None, "Linux"),
    ("", "sh", "community.docker.docker", "Debian", "Linux"),
])
def test_pec_os(declared, shell, connection, family, expected):
    assert _pec_host.pec_os(declared, shell, connection, family) == expected
    assert FilterModule().filters()["pec_os"](declared, shell, connection, family) == expected


def test_pec_os_refuses_other_values():
    with pytest.raises(_pec_host.HostValuesError) as info:
        _pec_host.pec_os("win10")
    assert "rnds_pec_os deve ser linux ou windows" in info.value.message


def test_install_dir_and_url_by_operating_system():
    assert _pec_host.install_dir("", "Linux") == "/opt/e-SUS"
    assert _pec_host.install_dir(None, "Windows") == "C:\\Program Files\\e-SUS"
    # another role's Linux default is never a Windows folder
    assert _pec_host.install_dir("/opt/e-SUS", "Windows") == "C:\\Program Files\\e-SUS"
    assert _pec_host.install_dir("D:\\PEC\\e-SUS", "Windows") == "D:\\PEC\\e-SUS"
    assert _pec_host.pec_url("http://127.0.0.1:8080", "Linux", "pec.example") == "http://127.0.0.1:8080"
    assert _pec_host.pec_url("http://127.0.0.1:8080", "Windows", "10.0.0.7") == "http://10.0.0.7:8080"
    assert _pec_host.pec_url("", "Windows", "fe80::1") == "http://[fe80::1]:8080"
    assert _pec_host.pec_url("https://pec.local:8443", "Windows", "10.0.0.7") == "https://pec.local:8443"


def _host(role="certificate", **variables):
    templar = Templar(loader=DataLoader(), variables=variables)
    return _pec_host.PecHost.from_task_vars(templar, variables, role)


def test_values_are_templated_checked_and_derived():
    host = _host(inventory_hostname="pec-win", ansible_shell_type="powershell", rnds_pec_os="",
                 vault_password="s3nh@", rnds_certificate_src="/srv/fms.pfx",
                 rnds_certificate_password=trust_as_template("{{ vault_password }}"), rnds_municipio_ibge=3550308,
                 rnds_pec_install_dir="/opt/e-SUS")
    assert (host.os, host.windows, host.install_dir, host.chaves_dirname) == (
        "Windows", True, "C:\\Program Files\\e-SUS", "chaves")
    [entry] = host.municipios(require=["rnds_certificate_src", "rnds_certificate_password"])
    assert entry["certificate_password"] == "s3nh@" and entry["ibge"] == "3550308" and not entry["problem"]
    # the role spec's defaults fill what the inventory leaves out
    assert host.get("rnds_chaves_mode") == "0640" and host.get("rnds_certificate_prune") is False


def test_every_problem_of_the_role_spec_in_one_message():
    with pytest.raises(_pec_host.HostValuesError) as info:
        _host(inventory_hostname="pec", rnds_min_days_remaining="trinta", rnds_require_icp_brasil="talvez")
    message = info.value.message
    assert "esus.rnds.certificate" in message
    assert "rnds_min_days_remaining" in message and "rnds_require_icp_brasil" in message


def test_missing_variables_of_every_municipality():
    host = _host(role="enable", inventory_hostname="pec-consorcio", rnds_municipios=[
        {"rnds_municipio_ibge": "4106902", "rnds_pec_admin_user": "111.444.777-35"},
        {"rnds_municipio_ibge": "4314902"}])
    entries = host.municipios(require=["rnds_pec_admin_user", "rnds_pec_admin_password"])
    problems = [entry["problem"] for entry in entries]
    assert "IBGE 4106902: falta rnds_pec_admin_password" in problems[0]
    assert "IBGE 4314902: faltam rnds_pec_admin_user" in problems[1]


def test_unknown_municipality_key_is_a_host_error():
    host = _host(role="audit", inventory_hostname="pec", rnds_municipios=[{"rnds_municipio_ibge": "1", "certificado": "x"}])
    with pytest.raises(_pec_host.HostValuesError) as info:
        host.municipios()
    assert "certificado" in info.value.message


def test_lift_facts_keeps_the_discovered_interpreter():
    parts = [{"changed": True, "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}}, {"changed": False}]
    result = _pec_host.lift_facts({"changed": True}, parts)
    assert result["ansible_facts"] == {"discovered_interpreter_python": "/usr/bin/python3"}
    assert "ansible_facts" not in parts[0]


def test_options_the_task_leaves_out_come_from_the_variables_option_labels_names():
    host = _host(role="enable", inventory_hostname="pec", rnds_pec_timeout="45", rnds_pec_ca_path="",
                 rnds_state="disabled", rnds_limit_ibge=["4106902"])
    labels = {"timeout": "rnds_pec_timeout", "ca_path": "rnds_pec_ca_path", "state": "rnds_state",
              "retries": "rnds_pec_retries", "limit_ibge": "rnds_limit_ibge", "url": "rnds_pec_url",
              "path": "rnds_pec_install_dir, rnds_chaves_dirname e rnds_certificate_name"}
    args = _pec_host.options_from_host(host, {"option_labels": labels, "retries": 9, "from_inventory": True},
                                       ("timeout", "ca_path", "state", "retries", "limit_ibge", "path"))
    # typed by the role's argument spec; the task's own value wins; an empty variable leaves the default
    assert args["timeout"] == 45 and args["state"] == "disabled" and args["limit_ibge"] == ["4106902"]
    assert args["retries"] == 9
    assert "ca_path" not in args
    # only the options asked for, and only labels that are variable names
    assert "url" not in args and "path" not in args
    # without option_labels (a direct module user) nothing is filled
    assert _pec_host.options_from_host(host, {"from_inventory": True}, ("timeout",)) == {"from_inventory": True}
