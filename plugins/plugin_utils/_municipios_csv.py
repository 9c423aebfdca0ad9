# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""The municipality spreadsheet of the esus.rnds.municipios inventory plugin: read and check its lines.

The CSV text (already decoded) becomes one record per municipality line: columns matched by
header name (case, accents, spaces, ``_`` and ``-`` ignored), then every cell checked (UF, IBGE
code and its check digit, CNPJ, host, SO, identificador, certificate file name), and the lines of
one host checked against each other. Each problem names the CSV line and the fix (pt-BR) and
marks the line to be left out; the inventory plugin decides whether problems stop the run
(``strict``). Controller only.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata

from ansible.errors import AnsibleParserError

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import cnpj_with_lost_zeros, normalize_cnpj, valid_cnpj


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

HOST_RE = re.compile(r'^[A-Za-z0-9_.:\[\]-]+$')
CONTROL_RE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
MAX_LISTED_PROBLEMS = 50


def strip_accents(value):
    return ''.join(c for c in unicodedata.normalize('NFKD', value) if not unicodedata.combining(c))


def _norm_header(value):
    value = strip_accents(value).lower()
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


def parse_bool(value):
    value = strip_accents(value).strip().lower()
    if value == '':
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValueError(value)


class Problems(object):
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


class Spreadsheet(object):
    """Reads and checks the lines of one CSV (``source``: its file name, for messages)."""

    def __init__(self, source, delimiter='auto', warn=None):
        self.source = source
        self.delimiter = delimiter
        self.warn = warn or (lambda message: None)

    def _delimiter(self, header_line):
        option = self.delimiter
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
                                     'A primeira linha deve ter os nomes das colunas.' % self.source)
        return best[1]

    def read(self, text, problems):
        """The municipality lines of the CSV text as records (column -> cell, plus line and skip)."""
        lines = text.splitlines()
        first = next((index for index, line in enumerate(lines) if line.strip()), None)
        if first is None:
            raise AnsibleParserError('%s: a planilha está vazia; a primeira linha deve ter os nomes das colunas.' % self.source)
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
            raise AnsibleParserError('%s, linha %d: CSV malformado (%s); confira as aspas dessa linha.' % (self.source, reader.line_num, exc))
        if not records:
            self.warn('%s: nenhuma linha de município depois do cabeçalho.' % self.source)
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
                                         % (self.source, header_line, header[columns[name]], raw, name))
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
                % (self.source, header_line, ', '.join(missing), ' | '.join(header),
                   '; '.join('%s: %s' % (name, ', '.join(COLUMNS[name])) for name in missing), hint))
        return columns

    # ------------------------------------------------------------- validation

    def validate(self, records, problems):
        """Check every cell of every line; a line with a problem is marked ``skip``."""
        seen_ibge = {}
        for record in records:
            if record['skip']:
                continue
            line = record['line']
            errors = self._row_errors(record)
            ibge = record['ibge']
            if not errors and ibge in seen_ibge:
                errors.append('o código IBGE %s já aparece na linha %d; cada município deve estar em uma única linha.' % (ibge, seen_ibge[ibge]))

            for message in errors:
                problems.add(line, message)
            if errors:
                record['skip'] = True
            else:
                seen_ibge[ibge] = line

    def _row_errors(self, record):
        """The problems of one line, its cells normalised in place (UF upper case, CNPJ and IBGE digits, SO)."""
        errors = []
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

        so = strip_accents(record['so']).strip().lower()
        if so not in ('linux', 'windows'):
            errors.append('SO %r inválido; use linux ou windows.' % record['so'])
        record['so'] = so

        if not record['identificador']:
            errors.append('a coluna identificador está vazia; preencha com o identificador do solicitante '
                          '(e-Gestor AB, "Credenciais geradas").')

        errors.extend(self._check_certificado(record['certificado']))

        try:
            record['multimunicipal'] = parse_bool(record.get('multimunicipal', ''))
        except ValueError:
            errors.append('multimunicipal %r inválido; use sim ou não (ou deixe vazio).' % record['multimunicipal'])

        endereco = record.get('endereco', '')
        if endereco and not HOST_RE.match(endereco):
            errors.append('endereco %r inválido; use um nome DNS ou IP, sem espaços.' % endereco)
        return errors

    @staticmethod
    def _check_certificado(certificado):
        if not certificado:
            return ['a coluna certificado está vazia; preencha com o nome do arquivo .pfx/.p12 na pasta de certificados.']
        if certificado.lower().endswith(CERTIFICATE_ONLY_SUFFIXES):
            return ['certificado %r é um certificado sem a chave privada (%s): o PEC precisa do arquivo .pfx/.p12 com a '
                    'chave privada e a senha, recebido da autoridade certificadora ou baixado do e-Gestor AB; ponha esse '
                    'arquivo em certificates_dir e o nome dele nesta coluna.' % (certificado, os.path.splitext(certificado)[1])]
        if not certificado.lower().endswith(('.pfx', '.p12')):
            return ['certificado %r não termina em .pfx ou .p12, e o PEC só lista esses arquivos na pasta chaves; '
                    'use o nome do arquivo .pfx/.p12.' % certificado]
        if os.path.isabs(certificado) or re.match(r'^[A-Za-z]:', certificado) or '..' in re.split(r'[\\/]', certificado):
            return ['certificado %r deve ser o nome do arquivo dentro da pasta de certificados (certificates_dir), '
                    'sem caminho absoluto nem "..".' % certificado]
        return []

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

    def check_hosts(self, records, problems):
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
