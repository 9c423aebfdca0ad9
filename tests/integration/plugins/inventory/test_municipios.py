# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.municipios inventory plugin, run through ``ansible-inventory`` / ``ansible-playbook``.

Its pure functions (IBGE check digit, regions) are tested in
tests/unit/plugins/inventory/test_municipios_in_process.py.
"""

from __future__ import annotations

import json
import pathlib
import sys
import textwrap

import pytest
import yaml

from ansible.parsing.vault import VaultLib, VaultSecret

REPO_ROOT = pathlib.Path(__file__).resolve().parents[4]
EXAMPLE = REPO_ROOT / "inventories" / "example"
EXAMPLE_CONFIG = EXAMPLE / "rnds.municipios.yml"
EXAMPLE_VAULT_PASSWORD = EXAMPLE / "EXAMPLE-vault-password.txt"

# Plain-text values of the example secrets (they must never show up in inventory output).
EXAMPLE_SECRETS = {
    "3509502": ("Certificado#Campinas-2026!", "02776715668", "Adm1n$Campinas"),
    "3136702": ('Çertificado Juiz de Fora & "aspas"', "64034666749", "Adm1n$JuizDeFora"),
    "4304606": ("Certificado-Canoas-2026", "41518764568", "Adm1n$Canoas"),
    "4313409": ("Certificado-NovoHamburgo-2026", "80260813400", "Adm1n$NovoHamburgo"),
    "2303709": ("Certificado-Caucaia-2026", "25292617849", "Adm1n$Caucaia"),
    "5300108": ("Certificado-Brasília-2026", "19002862385", "Adm1n$Brasilia"),
    "1302603": ("Certificado-Manaus-2026", "86550568986", "Adm1n$Manaus"),
}

HEADER = "municipio;uf;ibge;cnpj;host;so;identificador;certificado;multimunicipal"
GOOD_LINES = [
    "Campinas;SP;3509502;12345678000195;pec-a.example;linux;ID-A;a.pfx;não",
    "Canoas;RS;4304606;60701190000104;pec-rs.example;linux;ID-C;c.pfx;sim",
    "Novo Hamburgo;RS;4313409;76535764000143;pec-rs.example;linux;ID-N;n.pfx;sim",
    "Brasília;DF;5300108;00394544000185;pec-df.example;windows;ID-D;d.pfx;não",
]

VAULT_PASSWORD = "senha-do-vault-de-teste"


def _plain(value):
    """ansible-inventory marks untrusted strings as {"__ansible_unsafe": ...}; unwrap recursively."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _hosts_of(data, group):
    """Hosts of a group including its children (the --list output is not flattened)."""
    hosts = set(data.get(group, {}).get("hosts", []))
    for child in data.get(group, {}).get("children", []):
        hosts |= _hosts_of(data, child)
    return hosts


@pytest.fixture
def inventory(run_ansible):
    """Run ansible-inventory on a config; returns (CompletedProcess, parsed --list JSON or None)."""

    def runner(config, *extra, vault_password_file=None, env_extra=None):
        env = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
        if vault_password_file:
            env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(vault_password_file)
        env.update(env_extra or {})
        args = list(extra) or ["--list"]
        result = run_ansible("ansible-inventory", "-i", str(config), *args, env_extra=env)
        data = None
        if result.returncode == 0 and "--list" in args:
            data = json.loads(result.stdout)
        return result, data

    return runner


@pytest.fixture
def vault_file(tmp_path):
    path = tmp_path / "vault-password.txt"
    path.write_text(VAULT_PASSWORD + "\n")
    path.chmod(0o600)
    return path


def _vault():
    return VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])


def _inline(name, value):
    ciphertext = _vault().encrypt(value).decode()
    return "%s: !vault |\n%s\n" % (name, textwrap.indent(ciphertext.strip(), "  "))


@pytest.fixture
def make_source(tmp_path):
    """Write a CSV (text or bytes) and its config into tmp_path; returns the config path."""

    def factory(lines, header=HEADER, delimiter=";", encoding="utf-8", options=None, name="teste.municipios.yml", secrets=None):
        if isinstance(lines, bytes):
            data = lines
        else:
            rows = [header] + list(lines) if header is not None else list(lines)
            data = ("\n".join(row.replace(";", delimiter) for row in rows) + "\n").encode(encoding)
        (tmp_path / "planilha.csv").write_bytes(data)
        config = {"plugin": "esus.rnds.municipios", "csv": "planilha.csv"}
        if secrets is not None:
            secrets_dir = tmp_path / "segredos"
            secrets_dir.mkdir(exist_ok=True)
            for file_name, content in secrets.items():
                (secrets_dir / file_name).write_text(content, encoding="utf-8")
            config["secrets_dir"] = "segredos"
        config.update(options or {})
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        return path

    return factory


# --------------------------------------------------------------------------- the example inventory

@pytest.fixture
def example(inventory):
    result, data = inventory(EXAMPLE_CONFIG, vault_password_file=EXAMPLE_VAULT_PASSWORD)
    assert result.returncode == 0, result.stderr
    return result, data


def test_example_groups(example):
    dummy, data = example
    assert _hosts_of(data, "so_linux") == {
        "pec-campinas.saude.example", "pec-consorcio-rs.saude.example", "pec-caucaia.saude.example", "pec-manaus.saude.example"}
    assert _hosts_of(data, "so_windows") == {"pec-juizdefora.saude.example", "pec-brasilia.saude.example"}
    assert _hosts_of(data, "multimunicipal") == {"pec-consorcio-rs.saude.example"}
    assert _hosts_of(data, "uf_rs") == {"pec-consorcio-rs.saude.example"}
    assert data["regiao_sudeste"]["children"] == ["uf_sp", "uf_mg"]
    assert _hosts_of(data, "regiao_sudeste") == {"pec-campinas.saude.example", "pec-juizdefora.saude.example"}
    assert _hosts_of(data, "regiao_sul") == {"pec-consorcio-rs.saude.example"}
    assert _hosts_of(data, "regiao_nordeste") == {"pec-caucaia.saude.example"}
    assert _hosts_of(data, "regiao_centro_oeste") == {"pec-brasilia.saude.example"}
    assert _hosts_of(data, "regiao_norte") == {"pec-manaus.saude.example"}
    assert len(data["_meta"]["hostvars"]) == 6


def test_example_single_municipality_host_vars(example):
    dummy, data = example
    hostvars = _plain(data["_meta"]["hostvars"]["pec-campinas.saude.example"])
    assert hostvars["rnds_municipio_ibge"] == "3509502"
    assert hostvars["rnds_requester_id"] == "SOLIC-EXEMPLO-3509502"
    assert hostvars["rnds_expected_cnpj"] == "12345678000195"
    assert hostvars["rnds_municipio_nome"] == "Campinas"
    assert hostvars["rnds_municipio_uf"] == "SP"
    assert hostvars["rnds_pec_os"] == "linux"
    assert hostvars["rnds_certificate_src"] == str(EXAMPLE / "certificados" / "campinas-fms.pfx")
    assert "rnds_municipios" not in hostvars
    assert "ansible_host" not in hostvars
    assert hostvars["rnds_pec_admin_user"] == "02776715668"


def test_example_address_column_sets_ansible_host(example):
    dummy, data = example
    hostvars = _plain(data["_meta"]["hostvars"]["pec-juizdefora.saude.example"])
    assert hostvars["ansible_host"] == "10.20.0.15"
    assert hostvars["rnds_pec_os"] == "windows"


def test_example_multimunicipal_aggregation(example):
    dummy, data = example
    hostvars = _plain(data["_meta"]["hostvars"]["pec-consorcio-rs.saude.example"])
    assert "rnds_municipio_ibge" not in hostvars
    entries = hostvars["rnds_municipios"]
    assert [entry["rnds_municipio_ibge"] for entry in entries] == ["4304606", "4313409"]
    assert [entry["rnds_municipio_nome"] for entry in entries] == ["Canoas", "Novo Hamburgo"]
    # only per-municipality keys (what the esus.rnds.municipality_list filter accepts)
    assert set(entries[0]) == {"rnds_municipio_ibge", "rnds_requester_id", "rnds_certificate_src", "rnds_expected_cnpj",
                               "rnds_municipio_nome", "rnds_certificate_password", "rnds_pec_admin_user", "rnds_pec_admin_password",
                               "rnds_inventory_origin"}
    assert entries[1]["rnds_inventory_origin"] == {"csv": "municipios.csv", "line": 5, "secrets": "secrets/4313409.yml",
                                                   "secrets_found": True}
    assert [entry["rnds_expected_cnpj"] for entry in entries] == ["60701190000104", "76535764000143"]
    assert [entry["rnds_requester_id"] for entry in entries] == ["SOLIC-EXEMPLO-4304606", "SOLIC-EXEMPLO-4313409"]
    assert entries[1]["rnds_certificate_src"] == str(EXAMPLE / "certificados" / "novohamburgo-fms.pfx")
    assert [entry["rnds_pec_admin_user"] for entry in entries] == ["41518764568", "80260813400"]
    for entry in entries:
        assert set(entry["rnds_certificate_password"]) == {"__ansible_vault"}
        assert set(entry["rnds_pec_admin_password"]) == {"__ansible_vault"}


def test_example_list_shows_only_vault_ciphertext(example):
    result, data = example
    for certificate_password, dummy, admin_password in EXAMPLE_SECRETS.values():
        assert certificate_password not in result.stdout
        assert admin_password not in result.stdout
    # inline (!vault) values and values of the whole-file encrypted secrets/5300108.yml alike
    for host in ("pec-campinas.saude.example", "pec-brasilia.saude.example"):
        hostvars = data["_meta"]["hostvars"][host]
        assert hostvars["rnds_certificate_password"]["__ansible_vault"].startswith("$ANSIBLE_VAULT;1.1;AES256")
        assert hostvars["rnds_pec_admin_password"]["__ansible_vault"].startswith("$ANSIBLE_VAULT;1.1;AES256")
    # in a whole-file encrypted file every value is considered secret
    assert "__ansible_vault" in data["_meta"]["hostvars"]["pec-brasilia.saude.example"]["rnds_pec_admin_user"]
    assert "19002862385" not in result.stdout


def test_example_graph_and_group_vars(inventory):
    result, dummy = inventory(EXAMPLE_CONFIG, "--graph", vault_password_file=EXAMPLE_VAULT_PASSWORD)
    assert result.returncode == 0, result.stderr
    assert "@regiao_sul:" in result.stdout and "@uf_rs:" in result.stdout
    result, dummy = inventory(EXAMPLE_CONFIG, "--host", "pec-brasilia.saude.example", vault_password_file=EXAMPLE_VAULT_PASSWORD)
    assert result.returncode == 0, result.stderr
    hostvars = _plain(json.loads(result.stdout))
    assert hostvars["ansible_shell_type"] == "powershell"        # group_vars/so_windows.yml
    assert hostvars["rnds_pec_install_dir"] == "C:\\Program Files\\e-SUS"
    assert hostvars["rnds_min_days_remaining"] == 30              # group_vars/all.yml


def test_example_secrets_decrypt_when_used(run_ansible, tmp_path):
    playbook = tmp_path / "usa-segredos.yml"
    playbook.write_text(textwrap.dedent("""\
        - name: Secrets from the inventory decrypt at run time
          hosts: all
          gather_facts: false
          connection: local
          tasks:
            - name: Single-municipality host, inline !vault values
              ansible.builtin.assert:
                that:
                  - rnds_certificate_password == 'Certificado#Campinas-2026!'
                  - rnds_pec_admin_password == 'Adm1n$Campinas'
                quiet: true
              when: inventory_hostname == 'pec-campinas.saude.example'
            - name: Whole-file encrypted secrets, re-encrypted by the plugin
              ansible.builtin.assert:
                that:
                  - rnds_certificate_password == 'Certificado-Brasília-2026'
                  - rnds_pec_admin_user == '19002862385'
                  - rnds_pec_admin_password == 'Adm1n$Brasilia'
                quiet: true
              when: inventory_hostname == 'pec-brasilia.saude.example'
            - name: Multimunicipal host
              ansible.builtin.assert:
                that:
                  - rnds_municipios | map(attribute='rnds_certificate_password') | list == ['Certificado-Canoas-2026', 'Certificado-NovoHamburgo-2026']
                  - rnds_municipios[1].rnds_pec_admin_password == 'Adm1n$NovoHamburgo'
                quiet: true
              when: inventory_hostname == 'pec-consorcio-rs.saude.example'
            - name: The roles' view of each host (esus.rnds.municipality_list accepts what the plugin yields)
              ansible.builtin.assert:
                that:
                  - __m | map(attribute='ibge') | list == (['4304606', '4313409'] if 'multimunicipal' in group_names else [rnds_municipio_ibge])
                  - __m | map(attribute='nome') | select | list | length == __m | length
                  - __m | map(attribute='certificate_name') | select('match', '^[a-z]+-fms[.]p(fx|12)$') | list | length == __m | length
                  - __m | map(attribute='admin_password') | select | list | length == __m | length
                quiet: true
              vars:
                __m: "{{ rnds_municipios | default([]) | esus.rnds.municipality_list(hostvars[inventory_hostname]) }}"
            - name: Accented password with quotes
              ansible.builtin.assert:
                that:
                  - rnds_certificate_password == 'Çertificado Juiz de Fora & "aspas"'
                quiet: true
              when: inventory_hostname == 'pec-juizdefora.saude.example'
        """), encoding="utf-8")
    result = run_ansible("ansible-playbook", "-i", EXAMPLE_CONFIG, playbook,
                         env_extra={"ANSIBLE_VAULT_PASSWORD_FILE": str(EXAMPLE_VAULT_PASSWORD),
                                    "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed=0" in result.stdout
    assert result.stdout.count("ok=2") == 4 and result.stdout.count("ok=1") == 2
    for certificate_password, dummy, admin_password in EXAMPLE_SECRETS.values():
        assert certificate_password not in result.stdout + result.stderr
        assert admin_password not in result.stdout + result.stderr


def test_example_without_vault_password_names_the_line(inventory):
    result, dummy = inventory(EXAMPLE_CONFIG)
    assert result.returncode != 0
    assert "municipios.csv, linha 7: secrets/5300108.yml está cifrado com ansible-vault" in result.stderr
    assert "--vault-password-file" in result.stderr


def test_example_wrong_vault_password(inventory, vault_file):
    result, dummy = inventory(EXAMPLE_CONFIG, vault_password_file=vault_file)
    assert result.returncode != 0
    assert "linha 7: não foi possível decifrar secrets/5300108.yml" in result.stderr


def test_example_without_secrets_needs_no_vault_password(inventory, tmp_path):
    config = tmp_path / "sem-segredos.municipios.yml"
    config.write_text("plugin: esus.rnds.municipios\ncsv: %s\n" % (EXAMPLE / "municipios.csv"), encoding="utf-8")
    result, data = inventory(config)
    assert result.returncode == 0, result.stderr
    assert len(data["_meta"]["hostvars"]) == 6
    assert "rnds_certificate_password" not in data["_meta"]["hostvars"]["pec-campinas.saude.example"]
    # relative certificates_dir resolves against the config file's folder
    assert _plain(data["_meta"]["hostvars"]["pec-campinas.saude.example"]["rnds_certificate_src"]) == str(
        tmp_path / "certificados" / "campinas-fms.pfx")


# --------------------------------------------------------------------------- delimiters, encodings, header

@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_auto_delimiter(inventory, make_source, delimiter):
    result, data = inventory(make_source(GOOD_LINES, delimiter=delimiter))
    assert result.returncode == 0, result.stderr
    assert set(data["_meta"]["hostvars"]) == {"pec-a.example", "pec-rs.example", "pec-df.example"}


def test_explicit_delimiter_and_quoted_values(inventory, make_source):
    lines = ['"Embu das Artes, SP";SP;3515004;12345678000195;pec-embu.example;linux;ID-E;"a;b.pfx";']
    result, data = inventory(make_source(lines, delimiter=",", options={"delimiter": ","}))
    # the ';' inside the quoted certificate name was turned into ',' by the fixture: still one field
    assert result.returncode == 0, result.stderr
    hostvars = _plain(data["_meta"]["hostvars"]["pec-embu.example"])
    assert hostvars["rnds_municipio_nome"] == "Embu das Artes, SP"
    assert hostvars["rnds_certificate_src"].endswith("/certificados/a,b.pfx")


def test_latin1_with_option(inventory, make_source):
    config = make_source(GOOD_LINES, encoding="latin-1", options={"encoding": "latin-1"})
    result, data = inventory(config)
    assert result.returncode == 0, result.stderr
    assert _plain(data["_meta"]["hostvars"]["pec-df.example"]["rnds_municipio_nome"]) == "Brasília"


def test_latin1_without_option_names_line_and_fix(inventory, make_source):
    result, dummy = inventory(make_source(GOOD_LINES, encoding="latin-1"))
    assert result.returncode != 0
    # the first byte that is not UTF-8 is the 'ã' of 'não' on line 2
    assert "planilha.csv, linha 2: o arquivo não está na codificação utf-8-sig" in result.stderr
    assert "encoding: latin-1" in result.stderr


def test_utf8_with_bom_and_accented_headers(inventory, make_source):
    header = "MUNICÍPIO;Estado;Código_IBGE;CNPJ do FMS;Servidor;Sistema Operacional;Identificador do Solicitante;Arquivo do certificado;Centralizadora"
    result, data = inventory(make_source(GOOD_LINES, header=header, encoding="utf-8-sig"))
    assert result.returncode == 0, result.stderr
    assert _plain(data["_meta"]["hostvars"]["pec-a.example"]["rnds_municipio_ibge"]) == "3509502"


def test_utf8_read_as_latin1_warns(inventory, make_source):
    result, dummy = inventory(make_source(GOOD_LINES, encoding="utf-8", options={"encoding": "latin-1"}))
    assert "parece UTF-8 lido como latin-1" in result.stderr
    # and the garbled 'não' does not pass as a value
    assert "linha 2: multimunicipal 'nÃ£o' inválido" in result.stderr


def test_missing_columns_are_named(inventory, make_source):
    header = "municipio;uf;ibge;host;so;certificado"
    result, dummy = inventory(make_source(["Campinas;SP;3509502;pec-a.example;linux;a.pfx"], header=header))
    assert result.returncode != 0
    assert "faltam as colunas cnpj, identificador" in result.stderr


def test_wrong_delimiter_hint(inventory, make_source):
    result, dummy = inventory(make_source(GOOD_LINES, options={"delimiter": ","}))
    assert result.returncode != 0
    assert "ajuste a opção delimiter" in result.stderr


def test_unknown_columns_comments_and_blank_lines(inventory, make_source):
    header = HEADER + ";Observações"
    lines = [
        "",
        "# Canoas;RS;4304606;60701190000104;pec-rs.example;linux;ID-C;c.pfx;sim;",
        "Campinas;SP;3509502;12345678000195;pec-a.example;linux;ID-A;a.pfx;;qualquer coisa",
        ";;;;;;;;;",
        "Brasília;DF;5300109;00394544000185;pec-df.example;windows;ID-D;d.pfx;;",
    ]
    result, dummy = inventory(make_source(lines, header=header))
    assert result.returncode != 0
    # line numbers count the blank and comment lines: the bad IBGE is on line 6
    assert "planilha.csv, linha 6: código IBGE 5300109 inválido: o dígito verificador (7º dígito) não confere" in result.stderr
    assert "linha 4:" not in result.stderr


# --------------------------------------------------------------------------- validation errors

BAD_LINES = [
    # (line content, expected fragment of the message)
    ("Campinas;SP;3509502;12.345.678/0001-00;pec-1.example;linux;ID;a.pfx;", "CNPJ '12.345.678/0001-00' inválido"),
    ("Brasília;DF;5300108;394544000185;pec-2.example;linux;ID;a.pfx;", "perdeu os zeros à esquerda"),
    ("Campinas;SP;350950;12345678000195;pec-3.example;linux;ID;a.pfx;", "tem 6 dígitos (formato do DATASUS"),
    ("Campinas;SP;3509503;12345678000195;pec-4.example;linux;ID;a.pfx;", "código IBGE 3509503 inválido: o dígito verificador (7º dígito) não confere"),
    ("Campinas;RJ;3509502;12345678000195;pec-5.example;linux;ID;a.pfx;", "a UF RJ não corresponde ao código IBGE 3509502, que é de SP"),
    ("Campinas;XX;3509502;12345678000195;pec-6.example;linux;ID;a.pfx;", "UF 'XX' inválida"),
    ("Campinas;SP;9909502;12345678000195;pec-7.example;linux;ID;a.pfx;", "o prefixo 99 não é o código de nenhuma UF"),
    ("Canoas;RS;4304606;60701190000104;pec-8.example;macos;ID;a.pfx;", "SO 'macos' inválido; use linux ou windows"),
    ("Canoas;RS;4304606;60701190000104;pec-9.example;linux;;a.pfx;", "a coluna identificador está vazia"),
    ("Canoas;RS;4304606;60701190000104;pec-10.example;linux;ID;../../etc/a.pfx;", "sem caminho absoluto nem \"..\""),
    ("Canoas;RS;4304606;60701190000104;pec-11.example;linux;ID;a.pfx;talvez", "multimunicipal 'talvez' inválido; use sim ou não"),
    ("Canoas;RS;4304606;60701190000104;pec 12;linux;ID;a.pfx;", "host 'pec 12' inválido"),
    ("Canoas;RS;4304606;60701190000104;pec-13.example;linux;ID;a.pfx;;extra", "coluna(s) a mais que o cabeçalho"),
    (";RS;4304606;60701190000104;pec-14.example;linux;ID;a.pfx;", "a coluna municipio está vazia"),
    ("Canoas;RS;4304606;1,23457E+13;pec-15.example;linux;ID;a.pfx;", "notação científica"),
    ("Canoas;RS;4304606;60701190000104;pec-16.example;linux;ID;canoas.cer;",
     "certificado 'canoas.cer' é um certificado sem a chave privada (.cer): o PEC precisa do arquivo .pfx/.p12"),
    ("Canoas;RS;4304606;60701190000104;pec-17.example;linux;ID;canoas.zip;", "certificado 'canoas.zip' não termina em .pfx ou .p12"),
]


@pytest.fixture
def bad_result(inventory, make_source):
    lines = [GOOD_LINES[0]] + [line for line, dummy in BAD_LINES]
    return inventory(make_source(lines))[0]


@pytest.mark.parametrize("index", range(len(BAD_LINES)), ids=[fragment[:30] for dummy, fragment in BAD_LINES])
def test_each_validation_error_names_its_line(bad_result, index):
    assert bad_result.returncode != 0
    line_number = index + 3  # header, one good line, then the bad lines
    fragment = BAD_LINES[index][1]
    messages = [line for line in bad_result.stderr.splitlines() if line.startswith("planilha.csv, linha %d:" % line_number)]
    assert any(fragment in message for message in messages), (fragment, messages)


def test_all_problems_listed_at_once(bad_result):
    assert "tem %d problema(s)" % len(BAD_LINES) in bad_result.stderr
    assert "strict: false" in bad_result.stderr


def test_duplicate_ibge(inventory, make_source):
    lines = GOOD_LINES + ["Campinas de novo;SP;3509502;12345678000195;pec-b.example;linux;ID-B;b.pfx;"]
    result, dummy = inventory(make_source(lines))
    assert result.returncode != 0
    assert "planilha.csv, linha 6: o código IBGE 3509502 já aparece na linha 2" in result.stderr


def test_host_conflicts(inventory, make_source):
    lines = [
        "Canoas;RS;4304606;60701190000104;pec-rs.example;linux;ID-C;c.pfx;sim",
        "Novo Hamburgo;RS;4313409;76535764000143;PEC-RS.example;linux;ID-N;n.pfx;sim",
        "Porto Alegre;RS;4314902;92963560000160;pec-rs.example;windows;ID-P;p.pfx;sim",
        "Campinas;SP;3509502;12345678000195;pec-rs.example;linux;ID-A;a.pfx;não",
    ]
    result, dummy = inventory(make_source(lines))
    assert result.returncode != 0
    assert "linha 3: host 'PEC-RS.example' escrito de forma diferente da linha 2" in result.stderr
    assert "linha 4: o host pec-rs.example está com SO windows aqui e linux na linha 2" in result.stderr
    assert "linha 5: o host pec-rs.example aparece nas linhas 2, 3, 4, 5, então é multimunicipal" in result.stderr


def test_not_strict_skips_bad_lines_with_warning(inventory, make_source):
    lines = GOOD_LINES + [
        "Campinas;SP;3509503;12345678000195;pec-x.example;linux;ID;a.pfx;",
        "Caucaia;CE;2303709;92963560000160;pec-rs.example;linux;ID-CE;ce.pfx;não",
    ]
    result, data = inventory(make_source(lines, options={"strict": False}))
    assert result.returncode == 0, result.stderr
    assert "pec-x.example" not in data["_meta"]["hostvars"]
    assert "planilha.csv, linha 6: código IBGE 3509503 inválido: o dígito verificador" in result.stderr
    assert "Linha ignorada (strict: false)" in result.stderr
    # the contradictory 'não' is reported but the municipality stays on the multimunicipal host
    assert "linha 7: o host pec-rs.example aparece nas linhas 3, 4, 7" in result.stderr
    ibges = [entry["rnds_municipio_ibge"] for entry in _plain(data["_meta"]["hostvars"]["pec-rs.example"]["rnds_municipios"])]
    assert ibges == ["4304606", "4313409", "2303709"]
    assert _hosts_of(data, "regiao_nordeste") == {"pec-rs.example"}
    assert _hosts_of(data, "regiao_sul") == {"pec-rs.example"}


def test_strict_default_fails_the_source(inventory, make_source):
    config = make_source(GOOD_LINES + ["Campinas;SP;3509503;12345678000195;pec-x.example;linux;ID;a.pfx;"])
    result, dummy = inventory(config)
    assert result.returncode != 0
    result, dummy = inventory(config, env_extra={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "false",
                                                 "ANSIBLE_INVENTORY_UNPARSED_WARNING": "1"})
    # without any_unparsed_is_failed ansible-core only warns and goes on with an empty inventory
    assert result.returncode == 0
    assert "linha 6: código IBGE 3509503" in result.stderr


def test_single_line_flagged_multimunicipal(inventory, make_source):
    lines = ["Canoas;RS;4304606;60701190000104;pec-rs.example;linux;ID-C;c.pfx;sim"]
    result, data = inventory(make_source(lines))
    assert result.returncode == 0, result.stderr
    hostvars = _plain(data["_meta"]["hostvars"]["pec-rs.example"])
    assert [entry["rnds_municipio_ibge"] for entry in hostvars["rnds_municipios"]] == ["4304606"]
    assert _hosts_of(data, "multimunicipal") == {"pec-rs.example"}


def test_multimunicipal_column_is_optional(inventory, make_source):
    header = "municipio;uf;ibge;cnpj;host;so;identificador;certificado"
    lines = [line.rsplit(";", 1)[0] for line in GOOD_LINES]
    result, data = inventory(make_source(lines, header=header))
    assert result.returncode == 0, result.stderr
    assert _hosts_of(data, "multimunicipal") == {"pec-rs.example"}


# --------------------------------------------------------------------------- secrets

def test_secrets_inline_and_whole_file(inventory, make_source, vault_file):
    whole = _vault().encrypt("rnds_certificate_password: 'senha-df'\nrnds_pec_admin_user: admin.df\nrnds_pec_admin_password: 'adm-df'\n").decode()
    secrets = {
        "3509502.yml": _inline("rnds_certificate_password", "senha-a") + "rnds_pec_admin_user: admin.a\n" + _inline("rnds_pec_admin_password", "adm-a"),
        "5300108.yaml": whole,
        "4304606.yml": _inline("rnds_certificate_password", "senha-c"),
    }
    result, data = inventory(make_source(GOOD_LINES, secrets=secrets), vault_password_file=vault_file)
    assert result.returncode == 0, result.stderr
    for secret in ("senha-a", "adm-a", "senha-df", "adm-df", "senha-c"):
        assert secret not in result.stdout
    hostvars = data["_meta"]["hostvars"]
    assert set(hostvars["pec-a.example"]["rnds_certificate_password"]) == {"__ansible_vault"}
    assert set(hostvars["pec-df.example"]["rnds_pec_admin_password"]) == {"__ansible_vault"}
    assert set(hostvars["pec-rs.example"]["rnds_municipios"][0]["rnds_certificate_password"]) == {"__ansible_vault"}
    # no secrets file for Novo Hamburgo: kept, with a warning naming the line
    assert "planilha.csv, linha 4: não há arquivo de segredos 4313409.yml" in result.stderr
    assert "rnds_certificate_password" not in hostvars["pec-rs.example"]["rnds_municipios"][1]


def test_plaintext_secret_is_refused(inventory, make_source):
    secrets = {"3509502.yml": "rnds_pec_admin_user: admin.a\nrnds_pec_admin_password: 'em-texto-claro'\n"}
    result, dummy = inventory(make_source(GOOD_LINES, secrets=secrets))
    assert result.returncode != 0
    assert "linha 2: rnds_pec_admin_password em segredos/3509502.yml está em texto claro" in result.stderr
    assert "em-texto-claro" not in result.stdout + result.stderr


def test_numeric_password_in_whole_file_vault_is_refused(inventory, make_source, vault_file):
    secrets = {"3509502.yml": _vault().encrypt("rnds_certificate_password: 0123\n").decode()}
    result, dummy = inventory(make_source(GOOD_LINES, secrets=secrets), vault_password_file=vault_file)
    assert result.returncode != 0
    assert "linha 2: rnds_certificate_password em segredos/3509502.yml não é texto" in result.stderr


def test_secrets_may_not_redefine_csv_keys(inventory, make_source):
    secrets = {"3509502.yml": "rnds_requester_id: OUTRO\n"}
    result, dummy = inventory(make_source(GOOD_LINES, secrets=secrets))
    assert result.returncode != 0
    assert "linha 2: a chave rnds_requester_id de segredos/3509502.yml vem da planilha" in result.stderr


def test_secrets_file_accepts_only_municipality_keys(inventory, make_source):
    secrets = {"4304606.yml": "rnds_services: [rnds, cadsus]\nrnds_certificate_name: canoas.pfx\n",
               "4313409.yml": _inline("ansible_password", "x")}
    result, dummy = inventory(make_source(GOOD_LINES, secrets=secrets))
    assert result.returncode != 0
    assert "linha 4: a chave ansible_password não é aceita em segredos/4313409.yml" in result.stderr
    assert "host_vars/" in result.stderr
    assert "linha 3:" not in result.stderr


def test_unused_secrets_file_warns(inventory, make_source):
    secrets = {"3550308.yml": _inline("rnds_certificate_password", "x")}
    result, dummy = inventory(make_source(GOOD_LINES, secrets=secrets))
    assert result.returncode == 0, result.stderr
    assert "o arquivo de segredos 3550308.yml não corresponde a nenhuma linha da planilha" in result.stderr


def test_failing_spreadsheet_gives_no_secrets_warnings(inventory, make_source):
    # Line 2 has a bad check digit: its own secrets file is not an orphan, and Novo Hamburgo's missing
    # secrets file is not worth a warning in a run that stops on the spreadsheet anyway.
    lines = [GOOD_LINES[0].replace("3509502", "3509503")] + GOOD_LINES[1:]
    secrets = {"3509503.yml": _inline("rnds_certificate_password", "x"), "4304606.yml": _inline("rnds_certificate_password", "y")}
    result, dummy = inventory(make_source(lines, secrets=secrets))
    assert result.returncode != 0
    assert "código IBGE 3509503 inválido" in result.stderr
    assert "não corresponde a nenhuma linha" not in result.stderr
    assert "não há arquivo de segredos" not in result.stderr


def test_six_digit_ibge_suggests_the_code_with_its_check_digit(inventory, make_source):
    result, dummy = inventory(make_source([GOOD_LINES[0].replace("3509502", "350950")]))
    assert "use o código de 7 dígitos (3509502, se os 6 primeiros estão certos)" in result.stderr


def test_secrets_dir_missing(inventory, make_source):
    result, dummy = inventory(make_source(GOOD_LINES, options={"secrets_dir": "nao-existe"}))
    assert result.returncode != 0
    assert "secrets_dir" in result.stderr and "não existe" in result.stderr


# --------------------------------------------------------------------------- plugin plumbing

def test_config_file_name_must_end_in_municipios_yml(inventory, make_source):
    config = make_source(GOOD_LINES, name="inventario.yml")
    result, dummy = inventory(config)
    assert result.returncode != 0
    assert "could not be verified by inventory plugin 'esus.rnds.municipios'" in result.stderr


def test_constructed_options(inventory, make_source):
    options = {
        "keyed_groups": [{"key": "rnds_pec_os", "prefix": "pec"}],
        "groups": {"capitais": "rnds_municipio_ibge | default('') in ['5300108']"},
        "compose": {"rnds_pec_url": "'http://' ~ inventory_hostname ~ ':8080'"},
    }
    result, data = inventory(make_source(GOOD_LINES, options=options))
    assert result.returncode == 0, result.stderr
    assert _hosts_of(data, "pec_windows") == {"pec-df.example"}
    assert _hosts_of(data, "capitais") == {"pec-df.example"}
    assert _plain(data["_meta"]["hostvars"]["pec-a.example"]["rnds_pec_url"]) == "http://pec-a.example:8080"


def test_strict_expressions(inventory, make_source):
    options = {"keyed_groups": [{"key": "rnds_municipio_ibge", "prefix": "ibge"}], "strict_expressions": True}
    result, dummy = inventory(make_source(GOOD_LINES, options=options))
    # the multimunicipal host has no host-level rnds_municipio_ibge
    assert result.returncode != 0
    options["strict_expressions"] = False
    result, data = inventory(make_source(GOOD_LINES, options=options))
    assert result.returncode == 0, result.stderr
    assert _hosts_of(data, "ibge_3509502") == {"pec-a.example"}


def test_csv_not_found(inventory, make_source):
    result, dummy = inventory(make_source(GOOD_LINES, options={"csv": "outra.csv"}))
    assert result.returncode != 0
    assert "Não foi possível ler a planilha" in result.stderr and "outra.csv" in result.stderr


def test_list_output_round_trips_through_a_stored_copy(inventory, run_ansible, tmp_path):
    """What AWX does: store the --list output of the sync, serve it to jobs as a script inventory.

    The secrets stay vault ciphertext in the stored copy and decrypt in the job.
    """
    result, data = inventory(EXAMPLE_CONFIG, "--list", "--export", vault_password_file=EXAMPLE_VAULT_PASSWORD)
    assert result.returncode == 0, result.stderr
    data["_meta"].pop("profile", None)
    stored = tmp_path / "stored.json"
    stored.write_text(json.dumps(data), encoding="utf-8")
    for certificate_password, dummy, admin_password in EXAMPLE_SECRETS.values():
        assert certificate_password not in stored.read_text(encoding="utf-8")
        assert admin_password not in stored.read_text(encoding="utf-8")
    script = tmp_path / "inventario_armazenado.py"
    script.write_text("#!%s\nimport sys\nsys.stdout.write(open(%r, encoding='utf-8').read())\n" % (sys.executable, str(stored)), encoding="utf-8")
    script.chmod(0o755)
    playbook = tmp_path / "confere.yml"
    playbook.write_text(textwrap.dedent("""\
        - name: Secrets of a stored inventory decrypt in the job
          hosts: all
          gather_facts: false
          connection: local
          tasks:
            - name: Every municipality's passwords
              ansible.builtin.assert:
                that:
                  - __m | map(attribute='certificate_password') | select('match', '^.ertificado') | list | length == __m | length
                  - __m | map(attribute='admin_password') | select('match', '^Adm1n[$]') | list | length == __m | length
                quiet: true
              vars:
                __m: "{{ rnds_municipios | default([]) | esus.rnds.municipality_list(hostvars[inventory_hostname]) }}"
        """), encoding="utf-8")
    result = run_ansible("ansible-playbook", "-i", script, playbook,
                         env_extra={"ANSIBLE_VAULT_PASSWORD_FILE": str(EXAMPLE_VAULT_PASSWORD),
                                    "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok=1") == 6 and "failed=0" in result.stdout
