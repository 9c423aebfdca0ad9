# -*- coding: utf-8 -*-
# Copyright: (c) 2026, esus.rnds maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: municipios
short_description: PEC e-SUS APS servers from the municipality spreadsheet (CSV)
version_added: 0.1.0
description:
  - Reads the spreadsheet (CSV) that state and consortium teams already keep, one line per municipality,
    and yields one host per PEC server with the C(rnds_*) variables the roles of this collection use.
  - "The configuration file name must end in C(.municipios.yml) or C(.municipios.yaml) and contain
    C(plugin: esus.rnds.municipios)."
  - "Columns are matched by header name, ignoring case, accents, spaces, C(_) and C(-); their order does not matter
    and unknown columns (for example C(responsável) or C(observações)) are ignored.
    Required columns and accepted header names:
    C(municipio) (C(município), C(nome));
    C(uf) (C(estado));
    C(ibge) (C(código IBGE), C(cod ibge));
    C(cnpj) (C(CNPJ do FMS), C(CNPJ FMS));
    C(host) (C(servidor), C(hostname));
    C(so) (C(sistema operacional), C(os)), value C(linux) or C(windows);
    C(identificador) (C(identificador do solicitante), C(requester id));
    C(certificado) (C(arquivo do certificado)), the certificate file name relative to O(certificates_dir).
    Optional columns: C(multimunicipal) (C(centralizadora)), C(sim) or C(não);
    C(endereco) (C(endereço), C(ip), C(ansible_host)), the address Ansible connects to when it differs from C(host)."
  - Lines whose first cell starts with C(#) and lines with only empty cells are ignored.
  - "Each line is validated and errors name the CSV line and what to fix: IBGE code (7 digits,
    first two digits = UF code, 7th digit = check digit with weights 1-2-1-2-1-2 except for the nine real codes known
    not to follow the rule), UF (consistent with the IBGE code), CNPJ of the Fundo Municipal de Saúde
    (numeric or alphanumeric, check digits), SO, duplicate IBGE codes, hosts written with different case,
    conflicting SO or address between lines of the same host."
  - "Several lines with the same C(host) build one multimunicipal host with the list C(rnds_municipios);
    each item has C(rnds_municipio_ibge), C(rnds_requester_id), C(rnds_certificate_src), C(rnds_expected_cnpj),
    C(rnds_municipio_nome) and the secrets of that municipality (the keys the C(esus.rnds.municipality_list) filter
    accepts). A host with one line gets the same keys as host variables, plus C(rnds_municipio_uf).
    Every host also gets C(rnds_pec_os) (C(linux) or C(windows)) and C(ansible_host) when the C(endereco) column is
    set and differs from C(host). Each municipality also gets C(rnds_inventory_origin) (C(csv), C(line), C(secrets),
    C(secrets_found)), so that the roles name the spreadsheet line and the secrets file in their messages."
  - "Groups: C(uf_<uf>) (for example C(uf_sp)) as children of C(regiao_norte), C(regiao_nordeste), C(regiao_centro_oeste),
    C(regiao_sudeste) or C(regiao_sul); C(so_linux) and C(so_windows); C(multimunicipal)."
  - "Secrets never come from the CSV. With O(secrets_dir), the file C(<secrets_dir>/<ibge>.yml) (or C(.yaml)) of each
    municipality is loaded. Accepted keys are C(rnds_certificate_password), C(rnds_pec_admin_user),
    C(rnds_pec_admin_password) and, when needed, C(rnds_certificate_name) and C(rnds_services); variables of the host
    itself (connection passwords, for example) belong in C(host_vars/).
    The file must be encrypted with ansible-vault, either as a whole (C(ansible-vault create)) or value by value
    (C(ansible-vault encrypt_string)); a key whose name ends in C(password), C(senha), C(token), C(secret) or
    C(contra_chave) in clear text is an error. Values of whole-file encrypted files are re-encrypted in memory as vault
    values, so C(ansible-inventory --list) and any copy of the inventory show vault ciphertext, never the secret."
  - A municipality without a secrets file is kept and a warning is shown (the roles then report the missing credentials).
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: Token that ensures this is a source file for this plugin.
    type: str
    required: true
    choices: ['esus.rnds.municipios']
  csv:
    description:
      - Path of the CSV file. A relative path is relative to the directory of this configuration file.
    type: str
    required: true
  delimiter:
    description:
      - Field separator. V(auto) picks the most frequent of V(;), V(,) and tab in the header line
        (spreadsheets saved in Portuguese usually use V(;)).
      - Any single character, or V(tab).
    type: str
    default: auto
  encoding:
    description:
      - Text encoding of the CSV. V(utf-8-sig) reads UTF-8 with or without the byte order mark that
        spreadsheet programs write.
      - Use V(latin-1) (or V(cp1252)) for files saved as "CSV (separado por vírgulas)" by older spreadsheet programs.
      - Any codec name Python knows is accepted.
    type: str
    default: utf-8-sig
  secrets_dir:
    description:
      - Directory with one ansible-vault encrypted YAML file per municipality, named after the IBGE code
        (C(3550308.yml)). A relative path is relative to the directory of this configuration file.
      - When not set, no secrets are loaded (they can come from C(host_vars/) or C(group_vars/)).
    type: str
  certificates_dir:
    description:
      - Directory on the controller where the certificate files named in the C(certificado) column are.
        A relative path is relative to the directory of this configuration file.
      - C(rnds_certificate_src) is the absolute path of C(<certificates_dir>/<certificado>). The file is not
        opened here; the C(esus.rnds.certificate) role checks it.
    type: str
    default: certificados
  strict:
    description:
      - How invalid lines of the spreadsheet are handled.
      - V(true) makes any invalid line a fatal error for the whole inventory source; the error lists every problem
        found, with its line number.
      - V(false) skips each invalid line (or, on a multimunicipal host, only that municipality) with a warning
        and keeps the others.
      - Problems with the file as a whole (unreadable, wrong encoding, missing columns) are always fatal.
      - This option replaces the C(strict) option of the constructed fragment; see O(strict_expressions).
    type: bool
    default: true
  strict_expressions:
    description:
      - Make errors in O(compose), O(groups) and O(keyed_groups) expressions fatal (this is the C(strict) option of
        other constructed inventory plugins).
    type: bool
    default: false
notes:
  - With C(strict=true), ansible-core by default only warns that the source could not be parsed and goes on with the
    other sources; set C(any_unparsed_is_failed = true) in the C([inventory]) section of C(ansible.cfg) (or
    E(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true)) so that a bad spreadsheet stops the run.
  - No inventory cache is offered. The CSV is parsed in milliseconds and a cache would be one more copy of the
    inventory to protect and a way to act on a stale spreadsheet.
"""

EXAMPLES = r"""
# inventories/estado/rnds.municipios.yml
plugin: esus.rnds.municipios
csv: municipios.csv
secrets_dir: secrets
certificates_dir: certificados

# Spreadsheet exported by Excel in Portuguese, Windows-1252 text, ';' separator
# plugin: esus.rnds.municipios
# csv: planilha.csv
# encoding: cp1252
# delimiter: ';'

# Skip bad lines with a warning instead of failing (for example in a nightly audit)
# plugin: esus.rnds.municipios
# csv: municipios.csv
# strict: false

# Extra groups from the constructed options
# plugin: esus.rnds.municipios
# csv: municipios.csv
# groups:
#   capitais: rnds_municipio_ibge | default('') in ['3550308', '3304557', '3106200']
# keyed_groups:
#   - key: rnds_pec_os
#     prefix: pec
"""

import codecs
import os
import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.parsing.vault import AnsibleVaultError, VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.esus.rnds.plugins.plugin_utils._ansible_compat import (
    is_vault_value, loader_vault_secrets, vault_value,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._municipios_csv import REGIAO_BY_UF, Problems, Spreadsheet


SECRET_KEY_RE = re.compile(r'(password|senha|token|secret|contra_chave)$', re.IGNORECASE)
MOJIBAKE_RE = re.compile('\u00c3[\u00a0-\u00bf]')

# Keys this plugin derives from the CSV; a secrets file may not redefine them.
CSV_KEYS = frozenset((
    'rnds_municipio_ibge', 'rnds_requester_id', 'rnds_certificate_src', 'rnds_expected_cnpj',
    'rnds_municipio_nome', 'rnds_municipio_uf', 'rnds_municipios', 'rnds_pec_os', 'rnds_inventory_origin',
))
# Keys a secrets file may set: per-municipality variables that are not CSV columns (items of
# rnds_municipios accept only per-municipality keys, see the esus.rnds.municipality_list filter).
SECRETS_FILE_KEYS = ('rnds_certificate_password', 'rnds_pec_admin_user', 'rnds_pec_admin_password',
                     'rnds_certificate_name', 'rnds_services')


class InventoryModule(BaseInventoryPlugin, Constructable):

    NAME = 'esus.rnds.municipios'

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        if not path.endswith(('.municipios.yml', '.municipios.yaml')):
            self.display.vvv('esus.rnds.municipios: %s does not end in .municipios.yml or .municipios.yaml' % path)
            return False
        try:
            with open(path, 'rb') as handle:
                head = to_text(handle.read(65536), errors='surrogate_or_replace')
        except (IOError, OSError):
            return False
        return re.search(r'["\']?\bplugin["\']?\s*:\s*["\']?esus\.rnds\.municipios["\']?\s*([,}#]|$)', head, re.MULTILINE) is not None

    # ------------------------------------------------------------------ parse

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)

        self._basedir = os.path.dirname(os.path.abspath(path))
        csv_path = self._resolve(self.get_option('csv'))
        self._csv_name = os.path.basename(csv_path)
        strict = self.get_option('strict')
        secrets_dir = self.get_option('secrets_dir')
        self._secrets_dir = self._resolve(secrets_dir) if secrets_dir else None
        self._certificates_dir = self._resolve(self.get_option('certificates_dir'))
        self._reencrypt_vault = None

        problems = Problems(self._csv_name)
        text = self._read_csv(csv_path)
        sheet = Spreadsheet(self._csv_name, self.get_option('delimiter'), self.display.warning)
        records = sheet.read(text, problems)
        sheet.validate(records, problems)
        sheet.check_hosts(records, problems)
        if self._secrets_dir:
            # A run that stops on the spreadsheet's problems shows only them: no warnings about secrets.
            self._load_secrets(records, problems, warn=not (strict and problems))

        if problems:
            if strict:
                raise AnsibleParserError(
                    'A planilha %s tem %d problema(s); corrija as linhas abaixo (ou use strict: false para ignorá-las com aviso):\n%s'
                    % (csv_path, len(problems), '\n'.join(problems.render())))
            for message in problems.render(suffix=True):
                self.display.warning(message)

        self._populate([record for record in records if not record['skip']])

    def _resolve(self, value):
        value = os.path.expanduser(os.path.expandvars(to_native(value)))
        if not os.path.isabs(value):
            value = os.path.join(self._basedir, value)
        return os.path.normpath(value)

    # ------------------------------------------------------------ reading CSV

    def _read_csv(self, csv_path):
        try:
            with open(csv_path, 'rb') as handle:
                data = handle.read()
        except (IOError, OSError) as exc:
            raise AnsibleParserError('Não foi possível ler a planilha %s (%s). Confira a opção csv, relativa à pasta do arquivo de configuração.'
                                     % (csv_path, exc.strerror or exc))
        encoding = self.get_option('encoding')
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise AnsibleParserError('Codificação desconhecida em encoding: %r. Use utf-8-sig (padrão), latin-1 ou cp1252.' % encoding)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b'\n') + 1
            raise AnsibleParserError(
                '%s, linha %d: o arquivo não está na codificação %s. Planilhas salvas como "CSV (separado por vírgulas)" '
                'costumam usar Windows-1252: use encoding: latin-1 (ou cp1252) na configuração, ou salve a planilha como "CSV UTF-8".'
                % (self._csv_name, line, encoding))
        if text.startswith('\ufeff'):
            text = text[1:]
        if MOJIBAKE_RE.search(text):
            self.display.warning('%s: o texto parece UTF-8 lido como %s (por exemplo "Ã£" no lugar de "ã"); '
                                 'confira a opção encoding (o padrão utf-8-sig lê UTF-8).' % (self._csv_name, encoding))
        return text

    # ---------------------------------------------------------------- secrets

    def _load_secrets(self, records, problems, warn=True):
        if not os.path.isdir(self._secrets_dir):
            raise AnsibleParserError('secrets_dir %s não existe ou não é uma pasta; crie-a com um arquivo <ibge>.yml cifrado por município.'
                                     % self._secrets_dir)
        # Every IBGE code written in the spreadsheet, valid line or not: a secrets file of an invalid line
        # is not an orphan (the line's own problem is the message).
        known = set(record.get('ibge') for record in records)
        for record in records:
            if record['skip']:
                continue
            path = None
            for extension in ('.yml', '.yaml'):
                candidate = os.path.join(self._secrets_dir, record['ibge'] + extension)
                if os.path.isfile(candidate):
                    path = candidate
                    break
            record['secrets'] = {}
            record['secrets_file'] = os.path.join(self.get_option('secrets_dir'), os.path.basename(path or record['ibge'] + '.yml'))
            record['secrets_found'] = path is not None
            if path is None:
                if not warn:
                    continue
                self.display.warning('%s, linha %d: não há arquivo de segredos %s.yml em %s para %s; as senhas desse município '
                                     'não foram carregadas (crie-o com ansible-vault create).'
                                     % (self._csv_name, record['line'], record['ibge'], self._secrets_dir, record['municipio']))
                continue
            try:
                record['secrets'] = self._read_secret_file(path)
            except _SecretsError as exc:
                problems.add(record['line'], to_native(exc))
                record['skip'] = True

        for name in sorted(os.listdir(self._secrets_dir)):
            stem, extension = os.path.splitext(name)
            if warn and extension in ('.yml', '.yaml') and stem not in known and re.match(r'^\d{7}$', stem):
                self.display.warning('%s: o arquivo de segredos %s não corresponde a nenhuma linha da planilha; '
                                     'confira o código IBGE.' % (self._csv_name, name))

    def _read_secret_file(self, path):
        shown = os.path.join(os.path.basename(self._secrets_dir), os.path.basename(path))
        try:
            with open(path, 'rb') as handle:
                whole_file = is_encrypted(handle.read(64))
        except (IOError, OSError) as exc:
            raise _SecretsError('não foi possível ler %s (%s).' % (shown, exc.strerror or exc))
        try:
            data = self.loader.load_from_file(path)
        except AnsibleVaultError:
            if not self._vault_secrets():
                raise _SecretsError('%s está cifrado com ansible-vault, mas nenhuma senha do vault foi informada; use '
                                    '--vault-password-file (ou ANSIBLE_VAULT_PASSWORD_FILE) ou --ask-vault-pass.' % shown)
            raise _SecretsError('não foi possível decifrar %s com a senha do vault informada; confira a senha (ou o --vault-id).' % shown)
        except AnsibleError as exc:
            raise _SecretsError('%s não é um YAML válido (%s); corrija com ansible-vault edit.' % (shown, type(exc).__name__))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise _SecretsError('%s deve conter chaves e valores (por exemplo rnds_certificate_password: ...), não uma lista ou texto.' % shown)
        secrets = {}
        for key, value in data.items():
            key = to_native(key)
            if key in CSV_KEYS:
                raise _SecretsError('a chave %s de %s vem da planilha; remova-a do arquivo de segredos.' % (key, shown))
            if key not in SECRETS_FILE_KEYS:
                raise _SecretsError('a chave %s não é aceita em %s; use %s. Variáveis do próprio servidor vão em host_vars/.'
                                    % (key, shown, ', '.join(SECRETS_FILE_KEYS)))
            vaulted = _is_vaulted(value)
            if SECRET_KEY_RE.search(key):
                if not whole_file and not vaulted:
                    raise _SecretsError('%s em %s está em texto claro; cifre o arquivo (ansible-vault encrypt) ou o valor '
                                        '(ansible-vault encrypt_string).' % (key, shown))
                if not vaulted and not isinstance(value, str):
                    raise _SecretsError('%s em %s não é texto (o YAML leu um número ou booleano); coloque a senha entre aspas.' % (key, shown))
            if whole_file and isinstance(value, str) and not vaulted:
                value = self._reencrypt(value)
            secrets[key] = value
        return secrets

    def _vault_secrets(self):
        return loader_vault_secrets(self.loader)

    def _reencrypt(self, plaintext):
        """Wrap a value that came from a whole-file vault as a vault value, so dumps of the inventory show ciphertext."""
        if self._reencrypt_vault is None:
            self._reencrypt_vault = VaultLib(secrets=self._vault_secrets())
        vault = self._reencrypt_vault
        dummy, secret = match_encrypt_secret(vault.secrets)
        return vault_value(plaintext, vault, secret)

    # ------------------------------------------------------------- populating

    def _populate(self, records):
        hosts = {}
        for record in records:
            hosts.setdefault(record['host'], []).append(record)

        strict_expressions = self.get_option('strict_expressions')
        for host, group in hosts.items():
            first = group[0]
            self.inventory.add_host(host)
            self.inventory.set_variable(host, 'rnds_pec_os', first['so'])
            endereco = next((record.get('endereco') for record in group if record.get('endereco')), '')
            if endereco and endereco != host:
                self.inventory.set_variable(host, 'ansible_host', endereco)

            multimunicipal = len(group) > 1 or any(record['multimunicipal'] for record in group)
            if multimunicipal:
                self.inventory.set_variable(host, 'rnds_municipios', [self._municipio_entry(record) for record in group])
                self._add_to_group(host, 'multimunicipal')
            else:
                entry = self._municipio_entry(first)
                entry['rnds_municipio_uf'] = first['uf']
                for key, value in entry.items():
                    self.inventory.set_variable(host, key, value)

            self._add_to_group(host, 'so_%s' % first['so'])
            for uf in sorted(set(record['uf'] for record in group)):
                regiao = self.inventory.add_group('regiao_%s' % REGIAO_BY_UF[uf])
                uf_group = self._add_to_group(host, 'uf_%s' % uf.lower())
                self.inventory.add_child(regiao, uf_group)

            hostvars = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option('compose'), hostvars, host, strict=strict_expressions)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, host, strict=strict_expressions)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, host, strict=strict_expressions)

    def _add_to_group(self, host, group):
        group = self.inventory.add_group(group)
        self.inventory.add_child(group, host)
        return group

    def _municipio_entry(self, record):
        entry = {
            'rnds_municipio_ibge': record['ibge'],
            'rnds_requester_id': record['identificador'],
            'rnds_certificate_src': os.path.normpath(os.path.join(self._certificates_dir, record['certificado'].replace('\\', '/'))),
            'rnds_expected_cnpj': record['cnpj'],
            'rnds_municipio_nome': record['municipio'],
            # Where this municipality comes from, so that the roles name the CSV line and the secrets file.
            'rnds_inventory_origin': {
                'csv': self._csv_name,
                'line': record['line'],
                'secrets': record.get('secrets_file'),
                'secrets_found': bool(record.get('secrets_found')),
            },
        }
        entry.update(record.get('secrets') or {})
        return entry


class _SecretsError(Exception):
    """A problem with one municipality's secrets file (message in pt-BR, never the secret)."""


def _is_vaulted(value):
    return is_vault_value(value)
