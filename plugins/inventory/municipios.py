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
import csv
import io
import os
import re
import unicodedata

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.parsing.vault import AnsibleVaultError, VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import cnpj_with_lost_zeros, normalize_cnpj, valid_cnpj

from ansible_collections.esus.rnds.plugins.plugin_utils._ansible_compat import (
    is_vault_value, loader_vault_secrets, vault_value,
)


# IBGE code of each UF (the first two digits of every municipality code).
UF_CODES = {
    'RO': '11', 'AC': '12', 'AM': '13', 'RR': '14', 'PA': '15', 'AP': '16', 'TO': '17',
    'MA': '21', 'PI': '22', 'CE': '23', 'RN': '24', 'PB': '25', 'PE': '26', 'AL': '27', 'SE': '28', 'BA': '29',
    'MG': '31', 'ES': '32', 'RJ': '33', 'SP': '35',
    'PR': '41', 'SC': '42', 'RS': '43',
    'MS': '50', 'MT': '51', 'GO': '52', 'DF': '53',
}
UF_BY_CODE = dict((code, uf) for uf, code in UF_CODES.items())

REGIOES = {
    'norte': ('RO', 'AC', 'AM', 'RR', 'PA', 'AP', 'TO'),
    'nordeste': ('MA', 'PI', 'CE', 'RN', 'PB', 'PE', 'AL', 'SE', 'BA'),
    'sudeste': ('MG', 'ES', 'RJ', 'SP'),
    'sul': ('PR', 'SC', 'RS'),
    'centro_oeste': ('MS', 'MT', 'GO', 'DF'),
}
REGIAO_BY_UF = dict((uf, regiao) for regiao, ufs in REGIOES.items() for uf in ufs)

# Real municipality codes whose 7th digit does not follow the check digit rule
# (the same exception list is used by the NF-e validators).
IBGE_DV_EXCEPTIONS = frozenset((
    '2201919', '2201988', '2202251', '2611533', '3117836', '3152131', '4305871', '5203939', '5203962',
))

# Canonical column -> accepted header names (already normalised by _norm_header).
COLUMNS = {
    'municipio': ('municipio', 'nome', 'nome do municipio'),
    'uf': ('uf', 'estado'),
    'ibge': ('ibge', 'codigo ibge', 'cod ibge', 'codigo do municipio', 'codigo municipio ibge'),
    'cnpj': ('cnpj', 'cnpj do fms', 'cnpj fms', 'cnpj do fundo municipal de saude'),
    'host': ('host', 'servidor', 'hostname'),
    'so': ('so', 'sistema operacional', 'os'),
    'identificador': ('identificador', 'identificador do solicitante', 'requester id'),
    'certificado': ('certificado', 'arquivo do certificado', 'arquivo certificado'),
    'multimunicipal': ('multimunicipal', 'centralizadora'),
    'endereco': ('endereco', 'ip', 'ansible host'),
}
REQUIRED_COLUMNS = ('municipio', 'uf', 'ibge', 'cnpj', 'host', 'so', 'identificador', 'certificado')

YES = frozenset(('sim', 's', 'yes', 'y', 'true', 'verdadeiro', '1', 'x'))
NO = frozenset(('nao', 'n', 'no', 'false', 'falso', '0'))

# Certificates without their private key: the PEC cannot use them.
CERTIFICATE_ONLY_SUFFIXES = ('.cer', '.crt', '.der', '.pem', '.p7b', '.p7c')

SECRET_KEY_RE = re.compile(r'(password|senha|token|secret|contra_chave)$', re.IGNORECASE)
HOST_RE = re.compile(r'^[A-Za-z0-9_.:\[\]-]+$')
CONTROL_RE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
MOJIBAKE_RE = re.compile('\u00c3[\u00a0-\u00bf]')
MAX_LISTED_PROBLEMS = 50

# Keys this plugin derives from the CSV; a secrets file may not redefine them.
CSV_KEYS = frozenset((
    'rnds_municipio_ibge', 'rnds_requester_id', 'rnds_certificate_src', 'rnds_expected_cnpj',
    'rnds_municipio_nome', 'rnds_municipio_uf', 'rnds_municipios', 'rnds_pec_os', 'rnds_inventory_origin',
))
# Keys a secrets file may set: per-municipality variables that are not CSV columns (items of
# rnds_municipios accept only per-municipality keys, see the esus.rnds.municipality_list filter).
SECRETS_FILE_KEYS = ('rnds_certificate_password', 'rnds_pec_admin_user', 'rnds_pec_admin_password',
                     'rnds_certificate_name', 'rnds_services')


def _strip_accents(value):
    return ''.join(c for c in unicodedata.normalize('NFKD', value) if not unicodedata.combining(c))


def _norm_header(value):
    value = _strip_accents(value).lower()
    value = re.sub(r'[\s_\-./]+', ' ', value)
    return value.strip(' :*')


def ibge_check_digit(code6):
    """Check digit of an IBGE municipality code: weights 1,2,1,2,1,2, sum of the digits of each product."""
    total = 0
    for index, char in enumerate(code6[:6]):
        product = int(char) * (1 if index % 2 == 0 else 2)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def valid_ibge(code):
    """True for a 7-digit code with a known UF prefix and a matching check digit (or a known exception)."""
    if not re.match(r'^\d{7}$', code or ''):
        return False
    if code[:2] not in UF_BY_CODE:
        return False
    return code in IBGE_DV_EXCEPTIONS or ibge_check_digit(code) == int(code[6])


def _parse_bool(value):
    value = _strip_accents(value).strip().lower()
    if value == '':
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValueError(value)


class _Problems(object):
    """Per-line problems of the spreadsheet; `skipped` says whether the line is left out when strict is false."""

    def __init__(self, source):
        self.source = source
        self.items = []

    def add(self, line, message, skipped=True):
        self.items.append((line, message, skipped))

    def __len__(self):
        return len(self.items)

    def render(self, suffix=False):
        ordered = sorted(self.items, key=lambda item: item[0])
        lines = []
        for line, message, skipped in ordered[:MAX_LISTED_PROBLEMS]:
            text = '%s, linha %d: %s' % (self.source, line, message)
            if suffix and skipped:
                text += ' Linha ignorada (strict: false).'
            lines.append(text)
        if len(ordered) > MAX_LISTED_PROBLEMS:
            lines.append('... e mais %d problema(s).' % (len(ordered) - MAX_LISTED_PROBLEMS))
        return lines


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

        problems = _Problems(self._csv_name)
        text = self._read_csv(csv_path)
        records = self._read_records(text, problems)
        self._validate_records(records, problems)
        self._check_hosts(records, problems)
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

    def _delimiter(self, header_line):
        option = self.get_option('delimiter')
        if option in ('tab', '\\t'):
            return '\t'
        if option != 'auto':
            if len(option) != 1:
                raise AnsibleParserError('delimiter deve ser auto, tab ou um único caractere (por exemplo ";"); recebido %r.' % option)
            return option
        counts = [(header_line.count(char), char) for char in (';', ',', '\t')]
        best = max(counts, key=lambda item: item[0])
        if best[0] == 0:
            raise AnsibleParserError('%s, linha 1: não encontrei separador (";", "," ou tabulação) no cabeçalho. '
                                     'A primeira linha deve ter os nomes das colunas.' % self._csv_name)
        return best[1]

    def _read_records(self, text, problems):
        lines = text.splitlines()
        first = next((index for index, line in enumerate(lines) if line.strip()), None)
        if first is None:
            raise AnsibleParserError('%s: a planilha está vazia; a primeira linha deve ter os nomes das colunas.' % self._csv_name)
        delimiter = self._delimiter(lines[first])
        reader = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
        header = None
        header_line = 0
        columns = {}
        records = []
        previous_end = 0
        try:
            for row in reader:
                start, previous_end = previous_end + 1, reader.line_num
                cells = [cell.strip() for cell in row]
                if not any(cells):
                    continue
                if header is None:
                    header, header_line = cells, start
                    columns = self._map_header(header, header_line, delimiter)
                    continue
                if cells[0].startswith('#'):
                    continue
                extra = [cell for cell in cells[len(header):] if cell]
                record = dict((name, cells[index] if index < len(cells) else '') for name, index in columns.items())
                record.update({'line': start, 'skip': False})
                if extra:
                    problems.add(start, 'a linha tem %d coluna(s) a mais que o cabeçalho (linha %d); provavelmente um valor contém "%s" '
                                 'sem aspas: coloque o valor entre aspas ou remova o separador.' % (len(cells) - len(header), header_line, delimiter))
                    record['skip'] = True
                records.append(record)
        except csv.Error as exc:
            raise AnsibleParserError('%s, linha %d: CSV malformado (%s); confira as aspas dessa linha.' % (self._csv_name, reader.line_num, exc))
        if not records:
            self.display.warning('%s: nenhuma linha de município depois do cabeçalho.' % self._csv_name)
        return records

    def _map_header(self, header, header_line, delimiter):
        aliases = dict((alias, name) for name, names in COLUMNS.items() for alias in names)
        columns = {}
        for index, raw in enumerate(header):
            name = aliases.get(_norm_header(raw))
            if name is None:
                continue
            if name in columns:
                raise AnsibleParserError('%s, linha %d: as colunas "%s" e "%s" são a mesma coluna (%s); deixe só uma.'
                                         % (self._csv_name, header_line, header[columns[name]], raw, name))
            columns[name] = index
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            hint = ''
            if len(header) == 1:
                other = [char for char in (';', ',', '\t') if char != delimiter and char in header[0]]
                if other:
                    hint = ' O cabeçalho parece usar o separador %r: ajuste a opção delimiter.' % other[0]
            raise AnsibleParserError(
                '%s, linha %d: faltam as colunas %s. Cabeçalho encontrado: %s. Nomes aceitos (maiúsculas e acentos tanto faz): %s.%s'
                % (self._csv_name, header_line, ', '.join(missing), ' | '.join(header),
                   '; '.join('%s: %s' % (name, ', '.join(COLUMNS[name])) for name in missing), hint))
        return columns

    # ------------------------------------------------------------- validation

    def _validate_records(self, records, problems):
        seen_ibge = {}
        for record in records:
            if record['skip']:
                continue
            errors = []
            line = record['line']

            # NUL, escape sequences and other control characters never belong in a spreadsheet cell: they
            # would end up in file names, in requests to the PEC and in the report.
            for column in sorted(record):
                value = record[column]
                if isinstance(value, str) and CONTROL_RE.search(value):
                    errors.append('a coluna %s contém caracteres de controle (%r); apague a célula e digite o valor de '
                                  'novo, sem colar de outro programa.' % (column, CONTROL_RE.search(value).group(0)))
                    record[column] = CONTROL_RE.sub('', value)

            if not record['municipio']:
                errors.append('a coluna municipio está vazia; preencha com o nome do município.')

            uf = record['uf'].upper()
            record['uf'] = uf
            if uf not in UF_CODES:
                errors.append('UF %r inválida; use a sigla de 2 letras (por exemplo SP, MG, DF).' % record['uf'])
                uf = None

            errors.extend(self._check_ibge(record, uf))

            raw_cnpj = record['cnpj']
            cnpj = normalize_cnpj(raw_cnpj)
            if not valid_cnpj(cnpj):
                errors.append(self._cnpj_message(raw_cnpj, cnpj))
            record['cnpj'] = cnpj

            if not record['host']:
                errors.append('a coluna host está vazia; preencha com o nome (DNS) ou IP do servidor PEC.')
            elif not HOST_RE.match(record['host']):
                errors.append('host %r inválido; use o nome DNS ou o IP do servidor PEC, sem espaços nem acentos.' % record['host'])

            so = _strip_accents(record['so']).strip().lower()
            if so not in ('linux', 'windows'):
                errors.append('SO %r inválido; use linux ou windows.' % record['so'])
            record['so'] = so

            if not record['identificador']:
                errors.append('a coluna identificador está vazia; preencha com o identificador do solicitante '
                              '(e-Gestor AB, "Credenciais geradas").')

            certificado = record['certificado']
            if not certificado:
                errors.append('a coluna certificado está vazia; preencha com o nome do arquivo .pfx/.p12 na pasta de certificados.')
            elif certificado.lower().endswith(CERTIFICATE_ONLY_SUFFIXES):
                errors.append('certificado %r é um certificado sem a chave privada (%s): o PEC precisa do arquivo .pfx/.p12 com a '
                              'chave privada e a senha, recebido da autoridade certificadora ou baixado do e-Gestor AB; ponha esse '
                              'arquivo em certificates_dir e o nome dele nesta coluna.' % (certificado, os.path.splitext(certificado)[1]))
            elif not certificado.lower().endswith(('.pfx', '.p12')):
                errors.append('certificado %r não termina em .pfx ou .p12, e o PEC só lista esses arquivos na pasta chaves; '
                              'use o nome do arquivo .pfx/.p12.' % certificado)
            elif os.path.isabs(certificado) or re.match(r'^[A-Za-z]:', certificado) or '..' in re.split(r'[\\/]', certificado):
                errors.append('certificado %r deve ser o nome do arquivo dentro da pasta de certificados (certificates_dir), '
                              'sem caminho absoluto nem "..".' % certificado)

            try:
                record['multimunicipal'] = _parse_bool(record.get('multimunicipal', ''))
            except ValueError:
                errors.append('multimunicipal %r inválido; use sim ou não (ou deixe vazio).' % record['multimunicipal'])

            endereco = record.get('endereco', '')
            if endereco and not HOST_RE.match(endereco):
                errors.append('endereco %r inválido; use um nome DNS ou IP, sem espaços.' % endereco)

            ibge = record['ibge']
            if not errors and ibge in seen_ibge:
                errors.append('o código IBGE %s já aparece na linha %d; cada município deve estar em uma única linha.' % (ibge, seen_ibge[ibge]))

            for message in errors:
                problems.add(line, message)
            if errors:
                record['skip'] = True
            else:
                seen_ibge[ibge] = line

    def _check_ibge(self, record, uf):
        code = re.sub(r'\s', '', record['ibge'])
        record['ibge'] = code
        if re.match(r'^\d{6}$', code):
            # The 7-digit code is the 6-digit one plus its check digit (or one of the known exceptions).
            full = next((known for known in sorted(IBGE_DV_EXCEPTIONS) if known.startswith(code)),
                        '%s%d' % (code, ibge_check_digit(code)))
            return ['código IBGE %s tem 6 dígitos (formato do DATASUS, sem o dígito verificador); use o código de 7 dígitos '
                    '(%s, se os 6 primeiros estão certos).' % (code, full)]
        if not re.match(r'^\d{7}$', code):
            return ['código IBGE %r inválido; use os 7 dígitos do código do município (por exemplo 3550308 para São Paulo).' % code]
        if code[:2] not in UF_BY_CODE:
            return ['código IBGE %s inválido: o prefixo %s não é o código de nenhuma UF.' % (code, code[:2])]
        errors = []
        if code not in IBGE_DV_EXCEPTIONS and ibge_check_digit(code) != int(code[6]):
            # No suggestion: the typo may be in any digit, and "fixing" the 7th could name another municipality.
            errors.append('código IBGE %s inválido: o dígito verificador (7º dígito) não confere com os 6 primeiros, então algum '
                          'dígito está errado; copie o código do município da lista do IBGE (ou do e-Gestor AB).' % code)
        if uf and UF_CODES[uf] != code[:2]:
            errors.append('a UF %s não corresponde ao código IBGE %s, que é de %s; corrija a UF ou o código.' % (uf, code, UF_BY_CODE[code[:2]]))
        return errors

    @staticmethod
    def _cnpj_message(raw, cnpj):
        if not raw:
            return 'a coluna cnpj está vazia; preencha com o CNPJ do Fundo Municipal de Saúde.'
        if re.search(r'[eE]\+', raw):
            return ('CNPJ %r está em notação científica (a planilha tratou o CNPJ como número); formate a coluna como texto '
                    'e digite os 14 caracteres.' % raw)
        padded = cnpj_with_lost_zeros(cnpj)
        if padded:
            return ('CNPJ %r perdeu os zeros à esquerda (a planilha tratou o CNPJ como número); use %s e formate a coluna como texto.'
                    % (raw, padded))
        return ('CNPJ %r inválido (deve ter 14 caracteres e dígitos verificadores corretos); corrija com o CNPJ do '
                'Fundo Municipal de Saúde.' % raw)

    def _check_hosts(self, records, problems):
        """Lines of the same host must agree; the first valid line of a host is the reference."""
        by_host = {}
        for record in records:
            if not record['skip']:
                by_host.setdefault(record['host'].lower(), []).append(record)
        for group in by_host.values():
            first = group[0]
            lines = ', '.join(str(record['line']) for record in group)
            for record in group:
                errors = []
                if record['host'] != first['host']:
                    errors.append('host %r escrito de forma diferente da linha %d (%r); use a mesma grafia.'
                                  % (record['host'], first['line'], first['host']))
                if record['so'] != first['so']:
                    errors.append('o host %s está com SO %s aqui e %s na linha %d; um servidor tem um só SO.'
                                  % (first['host'], record['so'], first['so'], first['line']))
                endereco, first_endereco = record.get('endereco', ''), first.get('endereco', '')
                if endereco and first_endereco and endereco != first_endereco:
                    errors.append('o host %s está com endereco %s aqui e %s na linha %d; use o mesmo endereço.'
                                  % (first['host'], endereco, first_endereco, first['line']))
                for message in errors:
                    problems.add(record['line'], message)
                if errors:
                    record['skip'] = True
                elif len(group) > 1 and record['multimunicipal'] is False:
                    # The data is coherent; only the flag contradicts the other lines. Kept as multimunicipal.
                    problems.add(record['line'], 'o host %s aparece nas linhas %s, então é multimunicipal: marque multimunicipal = sim '
                                 '(ou corrija o host). A linha foi mantida no host multimunicipal.' % (first['host'], lines), skipped=False)

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
