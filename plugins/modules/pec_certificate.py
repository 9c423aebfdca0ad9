# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
module: pec_certificate
short_description: Deploy an A1 certificate (PKCS#12) into the C(chaves) folder of a PEC e-SUS APS server
version_added: 0.1.0
description:
  - Puts one C(.pfx)/C(.p12) certificate into C(<install_dir>/webserver/chaves) on a Linux PEC e-SUS APS
    server, in one module execution per certificate and host.
  - "The action plugin of the same name runs on the controller first: it reads O(src) (an
    ansible-vault encrypted file is decrypted in memory, never written to disk), opens it with
    O(password), and refuses it before the host is touched when the password is wrong, the file is
    not PKCS#12 (a C(.cer) is refused), the private key is missing or does not match, the
    certificate is expired or not yet valid, the CNPJ differs from O(expected_cnpj), or
    O(require_icp_brasil) is set and the certificate is not ICP-Brasil."
  - A validation result is cached per source file (path, mtime, size) and password for the
    whole C(ansible-playbook) run, so a file shared by many hosts is parsed once. The cache key is
    an HMAC with a random key that lives only in memory; cached entries hold no secret.
  - The certificate bytes then travel inside the module arguments (O(content), never logged), so no
    separate file transfer is needed and the task works with pipelining.
  - "On the host (Python standard library only): creates the C(chaves) folder with O(dir_mode),
    refuses a C(webserver) or C(chaves) that is a symbolic link or a C(chaves) that is a file,
    compares the SHA-256 of the existing file, writes a temporary file (0600) in the same folder,
    fsyncs it, sets owner, group and mode on it, verifies its SHA-256 and renames it over the
    destination (atomic). A replaced file is backed up first."
  - "Runs that write into the same installation at the same time are serialised by a lock
    (C(flock) on C(<install_dir>/webserver/.esus-rnds.lock), mode 0600, never inside C(chaves)); a run
    waits up to 300 seconds for the other one. Temporary files that an interrupted run left in C(chaves)
    (C(.esus-rnds-*.tmp)) are removed under that lock. Check mode takes no lock and writes nothing."
  - "Backups go to the sibling folder C(<install_dir>/webserver/chaves-backup/) (mode 0700), named
    C(<file>.<YYYYmmddTHHMMSS>.bak): never C(*.pfx)/C(*.p12) and never inside C(chaves), so the PEC
    does not list them as certificates."
  - Windows servers are not handled by this module; the role C(esus.rnds.certificate) uses
    C(ansible.windows) modules there and calls this action with O(validate_only=true) to validate
    the file on the controller.
author:
  - esus.rnds maintainers (!UNKNOWN)
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.files
  - esus.rnds.attributes.flow
  - esus.rnds.attributes.platform
attributes:
  action:
    support: full
    details:
      - Validation of the certificate and preparation of the transfer run on the controller.
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows path, SHA-256, owner, group and mode before and after, never the content.
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
  safe_file_operations:
    support: full
options:
  src:
    description:
      - Path of the C(.pfx)/C(.p12) file on the controller. May be encrypted with ansible-vault.
      - Relative paths are searched like M(ansible.builtin.copy) does (role C(files/), playbook dir).
      - Used by the action plugin only.
    type: path
  password:
    description:
      - Password of the PKCS#12 file. Used on the controller only; never sent to the host, never logged.
    type: str
  name:
    description:
      - File name in C(chaves). Defaults to the base name of O(src).
      - Must end in C(.pfx) or C(.p12) (any case), at most 255 bytes, without C(/), C(\), C(..) or NUL.
    type: str
  install_dir:
    description:
      - PEC installation folder. C(<install_dir>/webserver) must already exist.
    type: path
    default: /opt/e-SUS
  chaves_dirname:
    description:
      - Name of the certificate folder inside C(<install_dir>/webserver). The PEC manual says C(chaves);
        a C(Chaves) folder next to it is reported in RV(chaves_variants).
    type: str
    default: chaves
  owner:
    description: Owner (name or uid) of the certificate file and of the C(chaves) folder.
    type: str
    default: root
  group:
    description: Group (name or gid) of the certificate file and of the C(chaves) folder.
    type: str
    default: root
  mode:
    description:
      - Mode of the certificate file, as a quoted octal string. Any permission for "others", special
        bits and execute bits are refused.
    type: raw
    default: '0640'
  dir_mode:
    description:
      - Mode of the C(chaves) folder, as a quoted octal string. Any permission for "others" is refused.
    type: raw
    default: '0750'
  backup:
    description:
      - Copy a file that is about to be replaced (or pruned) to C(<install_dir>/webserver/chaves-backup/)
        first.
    type: bool
    default: true
  prune:
    description:
      - Remove the other C(.pfx), C(.p12) and C(.cer) files from C(chaves) (any case), except the ones
        in O(keep). With O(backup=true) they are moved to the backup folder instead of deleted.
    type: bool
    default: false
  keep:
    description:
      - File names that O(prune) must not remove (for example the other certificates of a
        multimunicipal installation).
    type: list
    elements: str
    default: []
  min_days_remaining:
    description:
      - Warn when the certificate expires in fewer days than this. An expired or not yet valid
        certificate always fails. Controller only.
    type: int
    default: 30
  expected_cnpj:
    description:
      - CNPJ the certificate must carry (punctuation ignored, alphanumeric CNPJ accepted). Controller only.
    type: str
  require_icp_brasil:
    description:
      - Fail when the certificate does not chain to ICP-Brasil (certificates issued through e-Gestor
        may not). Controller only.
    type: bool
    default: false
  validate_only:
    description:
      - Only validate O(src) on the controller and return RV(certificate); nothing is sent to the host
        and no connection is made. Used by the role for Windows hosts.
    type: bool
    default: false
  content:
    description:
      - Base64 of the certificate bytes. Filled in by the action plugin; do not set it yourself.
    type: str
  checksum:
    description:
      - SHA-256 (hex) of the certificate bytes, checked by the host before writing. Filled in by the
        action plugin.
    type: str
notes:
  - Without pipelining, Ansible writes the module and its arguments (which include the PKCS#12 file,
    itself protected by its password) to a temporary file on the host for the duration of the task,
    as it does for M(ansible.builtin.copy). Enable pipelining to avoid it.
  - The PEC only lists C(.pfx)/C(.p12) files; temporary files are named C(.esus-rnds-*.tmp).
seealso:
  - module: esus.rnds.pec_info
  - module: esus.rnds.pkcs12_info
"""

EXAMPLES = r"""
- name: Deploy the certificate of the Fundo Municipal de Saúde
  esus.rnds.pec_certificate:
    src: files/fms-3550308.pfx
    password: "{{ rnds_certificate_password }}"
    expected_cnpj: 12.345.678/0001-95

- name: Multimunicipal server, keep the other municipalities' files and remove the rest
  esus.rnds.pec_certificate:
    src: "{{ item.src }}"
    password: "{{ item.password }}"
    prune: true
    keep: [fms-3304557.p12, fms-3106200.pfx]
  loop: "{{ certificates }}"
  loop_control:
    label: "{{ item.src | basename }}"

- name: Validate only, on the controller (no connection to the host)
  esus.rnds.pec_certificate:
    src: files/fms.pfx
    password: "{{ rnds_certificate_password }}"
    validate_only: true
  register: checked
"""

RETURN = r"""
path:
  description: Full path of the certificate on the host.
  returned: unless O(validate_only=true)
  type: str
  sample: /opt/e-SUS/webserver/chaves/fms-3550308.pfx
checksum:
  description: SHA-256 (hex) of the certificate file.
  returned: unless O(validate_only=true)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
content_changed:
  description: Whether the bytes of the file changed (or would change in check mode).
  returned: unless O(validate_only=true)
  type: bool
attributes_changed:
  description: Whether owner, group or mode of an existing file with the same bytes changed.
  returned: unless O(validate_only=true)
  type: bool
dir_changed:
  description: Whether the C(chaves) folder was created or its owner, group or mode changed.
  returned: unless O(validate_only=true)
  type: bool
backup_file:
  description: Backup of the replaced file, or null.
  returned: unless O(validate_only=true)
  type: str
  sample: /opt/e-SUS/webserver/chaves-backup/fms-3550308.pfx.20260102T101500.bak
backup_dir:
  description: Folder where backups are written.
  returned: unless O(validate_only=true)
  type: str
  sample: /opt/e-SUS/webserver/chaves-backup
pruned:
  description: Names of the files removed from C(chaves) by O(prune) (or that would be, in check mode).
  returned: unless O(validate_only=true)
  type: list
  elements: str
  sample: [antigo.pfx]
pruned_backup_files:
  description: Backups of the pruned files.
  returned: unless O(validate_only=true)
  type: list
  elements: str
removed_temp_files:
  description:
    - Temporary files left in C(chaves) by an earlier run that was interrupted while writing (killed controller,
      lost connection), removed by this run (or that would be, in check mode). Never C(.pfx)/C(.p12) files of the
      operator.
  returned: unless O(validate_only=true)
  type: list
  elements: str
  sample: [.esus-rnds-k2j4h1.tmp]
chaves_dir:
  description: Full path of the C(chaves) folder.
  returned: unless O(validate_only=true)
  type: str
  sample: /opt/e-SUS/webserver/chaves
chaves_variants:
  description: Sibling folders whose name differs from C(chaves) only in case (for example C(Chaves)).
  returned: unless O(validate_only=true)
  type: list
  elements: str
  sample: [Chaves]
owner:
  description: Owner of the file after the task.
  returned: unless O(validate_only=true)
  type: str
  sample: root
group:
  description: Group of the file after the task.
  returned: unless O(validate_only=true)
  type: str
  sample: root
mode:
  description: Mode of the file after the task.
  returned: unless O(validate_only=true)
  type: str
  sample: '0640'
size:
  description: Size of the file in bytes.
  returned: unless O(validate_only=true)
  type: int
  sample: 5194
validation_cache:
  description:
    - Where the controller-side validation came from in this task, C(parsed) (the file was opened),
      C(disk) (a result of another host in the same run) or C(memory) (an earlier item of the same loop).
  returned: always (added by the action plugin)
  type: str
  sample: disk
certificate:
  description:
    - Facts about the certificate, read on the controller. No secret.
    - Besides the keys below it has the other keys returned by M(esus.rnds.pkcs12_info) (C(serial_number),
      C(cpf), C(certificate_type), C(has_private_key), C(key_matches), C(key_type), C(key_size),
      C(chain_length), C(client_auth), C(expired), C(not_yet_valid)).
  returned: always (added by the action plugin)
  type: dict
  contains:
    name:
      description: File name in C(chaves).
      type: str
    subject:
      description: Subject DN.
      type: str
    issuer:
      description: Issuer DN.
      type: str
    not_before:
      description: Start of validity, ISO 8601 UTC.
      type: str
    not_after:
      description: End of validity, ISO 8601 UTC.
      type: str
      sample: '2027-01-02T10:15:00Z'
    days_remaining:
      description: Whole days until RV(certificate.not_after); negative when expired.
      type: int
    cnpj:
      description: CNPJ found in the certificate (14 characters), or null.
      type: str
    icp_brasil:
      description: Whether the certificate chains to ICP-Brasil.
      type: bool
    fingerprint_sha256:
      description: SHA-256 fingerprint of the certificate (lowercase hex, no colons).
      type: str
    sha256:
      description: SHA-256 of the PKCS#12 file (the value of RV(checksum) once deployed).
      type: str
"""

import base64
import binascii
import datetime
import errno
import fcntl
import inspect
import os
import shutil
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.esus.rnds.plugins.module_utils._chaves import (
    BACKUP_DIRNAME_SUFFIX,
    LOCK_BASENAME,
    PRUNE_SUFFIXES,
    TEMP_PREFIX,
    TEMP_SUFFIX,
    case_variants,
    certificate_argument_spec,
    check_certificate_name,
    check_dirname,
    format_mode,
    group_name,
    lstat_or_none,
    parse_mode,
    resolve_gid,
    resolve_uid,
    sha256_bytes,
    sha256_file,
    stale_temp_files,
    user_name,
)

# How long a run waits for another run writing into the same chaves folder.
LOCK_TIMEOUT = 300


class Deployer(object):
    """Plan and apply the deployment of one certificate file."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.name = params["name"]
        self.install_dir = params["install_dir"]
        self.dirname = params["chaves_dirname"]
        self.webserver = os.path.join(self.install_dir, "webserver")
        self.chaves = os.path.join(self.webserver, self.dirname)
        self.backup_dir = os.path.join(self.webserver, self.dirname + BACKUP_DIRNAME_SUFFIX)
        self.dest = os.path.join(self.chaves, self.name) if self.name else None
        self.backup = params["backup"]
        self.prune = params["prune"]
        self.keep = set(params["keep"] or [])
        self.result = dict(
            changed=False,
            path=self.dest,
            chaves_dir=self.chaves,
            backup_dir=self.backup_dir,
            chaves_variants=[],
            dir_changed=False,
            content_changed=False,
            attributes_changed=False,
            backup_file=None,
            pruned=[],
            pruned_backup_files=[],
            removed_temp_files=[],
        )
        self.lock_fd = None
        self.stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.result.pop("changed", None)
        self.module.fail_json(msg=msg, **self.result)

    # ---------------------------------------------------------------- validation
    def validate(self):
        params = self.module.params
        if not self.name:
            self.fail("informe o nome do arquivo do certificado (name); a ação esus.rnds.pec_certificate o preenche a partir de src")
        error = check_certificate_name(self.name) or check_dirname(self.dirname)
        if error:
            self.fail(error)
        try:
            self.mode = parse_mode(params["mode"], "o modo do arquivo (rnds_chaves_mode)", allow_exec=False)
            self.dir_mode = parse_mode(params["dir_mode"], "o modo da pasta chaves (rnds_chaves_dir_mode)")
            self.uid = resolve_uid(params["owner"])
            self.gid = resolve_gid(params["group"])
        except ValueError as exc:
            self.fail(str(exc))
        if params["content"] is None:
            self.fail("o conteúdo do certificado não chegou ao servidor: use a ação esus.rnds.pec_certificate com 'src' "
                      "(o parâmetro 'content' é preenchido pela action plugin)")
        try:
            self.data = base64.b64decode(params["content"], validate=True)
        except (binascii.Error, ValueError):
            self.fail("o conteúdo do certificado chegou corrompido (base64 inválido); execute a tarefa de novo")
        if not self.data:
            self.fail("o conteúdo do certificado chegou vazio; confira o arquivo de origem (rnds_certificate_src)")
        self.checksum = sha256_bytes(self.data)
        expected = (params["checksum"] or "").strip().lower()
        if expected and expected != self.checksum:
            self.fail("o certificado chegou ao servidor diferente do original (SHA-256 não confere); "
                      "execute a tarefa de novo e verifique a conexão")

    def inspect(self):
        """Read the current state; refuse symlinks and files where folders are expected."""
        if not os.path.isdir(self.install_dir):
            self.fail("a pasta de instalação do PEC %s não existe neste servidor: instale o PEC ou ajuste "
                      "rnds_pec_install_dir" % self.install_dir)
        web_st = lstat_or_none(self.webserver)
        if web_st is None:
            self.fail("a pasta %s não existe: o PEC não parece instalado em %s; instale o PEC ou ajuste "
                      "rnds_pec_install_dir" % (self.webserver, self.install_dir))
        if stat.S_ISLNK(web_st.st_mode):
            self.fail("%s é um link simbólico: por segurança o certificado não é gravado através de links; "
                      "substitua o link pela pasta real ou ajuste rnds_pec_install_dir para o destino do link" % self.webserver)
        if not stat.S_ISDIR(web_st.st_mode):
            self.fail("%s não é uma pasta; confira a instalação do PEC" % self.webserver)
        if not self.module.check_mode:
            self._lock()

        self.result["chaves_variants"] = case_variants(self.webserver, self.dirname)
        for variant in self.result["chaves_variants"]:
            self.module.warn("existe também a pasta %s ao lado de %s (difere só em maiúsculas/minúsculas): o PEC "
                             "no Linux usa %s; confira qual pasta o PEC lê e remova a outra"
                             % (os.path.join(self.webserver, variant), self.dirname, self.chaves))

        self.chaves_st = lstat_or_none(self.chaves)
        if self.chaves_st is not None:
            if stat.S_ISLNK(self.chaves_st.st_mode):
                self.fail("%s é um link simbólico: por segurança o certificado não é gravado através de links; "
                          "substitua o link por uma pasta" % self.chaves)
            if not stat.S_ISDIR(self.chaves_st.st_mode):
                self.fail("%s existe mas não é uma pasta: remova ou renomeie esse arquivo para que a pasta de "
                          "certificados possa ser criada" % self.chaves)
        backup_st = lstat_or_none(self.backup_dir)
        if backup_st is not None and (stat.S_ISLNK(backup_st.st_mode) or not stat.S_ISDIR(backup_st.st_mode)):
            if self.backup:
                self.fail("%s existe mas não é uma pasta (ou é um link simbólico): remova-o ou use backup=false"
                          % self.backup_dir)

        # Temporary files of a run that was killed while writing (we hold the lock, so none is in use).
        self.stale = stale_temp_files(self.chaves) if self.chaves_st is not None else []
        self.dest_st = lstat_or_none(self.dest) if self.chaves_st is not None else None
        self.dest_checksum = None
        if self.dest_st is not None:
            if stat.S_ISLNK(self.dest_st.st_mode):
                self.fail("%s é um link simbólico: remova o link; o certificado é gravado como arquivo comum" % self.dest)
            if not stat.S_ISREG(self.dest_st.st_mode):
                self.fail("%s existe mas não é um arquivo comum: remova-o" % self.dest)
            self.dest_checksum = sha256_file(self.dest)
            for other in case_variants(self.chaves, self.name):
                self.module.warn("há também o arquivo %s em %s (difere só em maiúsculas/minúsculas): o PEC vai listar os dois"
                                 % (other, self.chaves))
        elif self.chaves_st is not None:
            for other in case_variants(self.chaves, self.name):
                self.module.warn("há o arquivo %s em %s (difere só em maiúsculas/minúsculas de %s): o PEC vai listar os dois"
                                 % (other, self.chaves, self.name))

    def plan(self):
        st = self.chaves_st
        self.result["dir_changed"] = st is None or (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (
            self.uid, self.gid, self.dir_mode)
        dst = self.dest_st
        self.result["content_changed"] = dst is None or self.dest_checksum != self.checksum
        self.result["attributes_changed"] = dst is not None and not self.result["content_changed"] and (
            (dst.st_uid, dst.st_gid, stat.S_IMODE(dst.st_mode)) != (self.uid, self.gid, self.mode))
        self.to_prune = []
        if self.prune and st is not None:
            for entry in sorted(os.listdir(self.chaves)):
                if entry == self.name or entry in self.keep or not entry.lower().endswith(PRUNE_SUFFIXES):
                    continue
                entry_st = lstat_or_none(os.path.join(self.chaves, entry))
                if entry_st is None or stat.S_ISDIR(entry_st.st_mode):
                    continue
                self.to_prune.append(entry)
        self.result["pruned"] = list(self.to_prune)
        self.result["removed_temp_files"] = list(self.stale)
        self.result["changed"] = bool(self.result["dir_changed"] or self.result["content_changed"]
                                      or self.result["attributes_changed"] or self.to_prune or self.stale)

    def diff(self):
        def file_state(checksum, st):
            if st is None:
                return {"path": self.dest, "state": "absent"}
            return {"path": self.dest, "state": "file", "checksum": checksum,
                    "owner": user_name(st.st_uid), "group": group_name(st.st_gid), "mode": format_mode(st.st_mode)}

        def dir_state(st):
            if st is None:
                return {"path": self.chaves, "state": "absent"}
            return {"path": self.chaves, "state": "directory", "owner": user_name(st.st_uid),
                    "group": group_name(st.st_gid), "mode": format_mode(st.st_mode)}

        before = {"certificate": file_state(self.dest_checksum, self.dest_st), "chaves": dir_state(self.chaves_st)}
        after = {
            "certificate": {"path": self.dest, "state": "file", "checksum": self.checksum, "owner": user_name(self.uid),
                            "group": group_name(self.gid), "mode": format_mode(self.mode)},
            "chaves": {"path": self.chaves, "state": "directory", "owner": user_name(self.uid),
                       "group": group_name(self.gid), "mode": format_mode(self.dir_mode)},
        }
        if self.to_prune:
            before["pruned"] = list(self.to_prune)
            after["pruned"] = []
        return {"before": before, "after": after, "before_header": self.dest, "after_header": self.dest}

    # ---------------------------------------------------------------- lock
    def _lock(self):
        """Serialise the runs that write into this installation (two ansible-playbook at once).

        The lock file lives in ``webserver/`` (never in ``chaves``, so the PEC never lists it); it is
        kept between runs (removing it would race with a waiting run). Released when the module exits.
        """
        path = os.path.join(self.webserver, LOCK_BASENAME)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self.fail("%s é um link simbólico: remova-o (é o arquivo de trava do esus.rnds)" % path)
            self.fail("não foi possível criar o arquivo de trava %s: %s; confira as permissões de %s"
                      % (path, exc.strerror, self.webserver))
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self.fail("%s existe mas não é um arquivo comum: remova-o (é o arquivo de trava do esus.rnds)" % path)
        if stat.S_IMODE(st.st_mode) != 0o600 and st.st_uid == os.geteuid():
            os.fchmod(fd, 0o600)
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                os.close(fd)
                self.fail("outra execução do esus.rnds está gravando em %s há mais de %d s (trava %s): espere ela "
                          "terminar e rode de novo; se não houver outra execução, confira se um processo python travou "
                          "neste servidor" % (self.chaves, LOCK_TIMEOUT, path))
            time.sleep(0.2)
        self.lock_fd = fd

    def unlock(self):
        if self.lock_fd is not None:
            fd, self.lock_fd = self.lock_fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ---------------------------------------------------------------- apply
    def _make_dir(self, path, mode, uid, gid):
        """Create ``path`` if needed, then set owner and mode without following links."""
        created = False
        if lstat_or_none(path) is None:
            os.mkdir(path, 0o700)
            created = True
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            self.fail("%s deixou de ser uma pasta durante a execução; execute de novo" % path)
        if (st.st_uid, st.st_gid) != (uid, gid):
            os.lchown(path, uid, gid)
        if stat.S_IMODE(st.st_mode) != mode:
            os.chmod(path, mode)
        return created

    def _backup_path(self, name):
        base = os.path.join(self.backup_dir, "%s.%s.bak" % (name, self.stamp))
        candidate, counter = base, 1
        while lstat_or_none(candidate) is not None:
            counter += 1
            candidate = "%s.%d.bak" % (base[:-4], counter)
        return candidate

    def _ensure_backup_dir(self):
        self._make_dir(self.backup_dir, 0o700, self.uid, self.gid)

    def _write(self):
        fd, tmp = tempfile.mkstemp(dir=self.chaves, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
        try:
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(self.data)
                    handle.flush()
                    os.fsync(handle.fileno())
                    os.fchown(handle.fileno(), self.uid, self.gid)
                    os.fchmod(handle.fileno(), self.mode)
            except OSError as exc:
                self.fail("não foi possível gravar o arquivo temporário em %s: %s" % (self.chaves, exc.strerror))
            if sha256_file(tmp) != self.checksum:
                self.fail("o arquivo temporário gravado em %s não confere com o original (SHA-256); verifique o "
                          "disco do servidor" % self.chaves)
            if self.dest_st is not None and self.backup:
                self._ensure_backup_dir()
                backup = self._backup_path(self.name)
                self.module.preserved_copy(self.dest, backup)
                self._secure_backup(backup)
                self.result["backup_file"] = backup
            # atomic_move() gives a *new* file 0666 & ~umask before we fix it: keep that window private.
            old_umask = os.umask(0o077)
            try:
                if "keep_dest_attrs" in inspect.signature(self.module.atomic_move).parameters:
                    self.module.atomic_move(tmp, self.dest, keep_dest_attrs=False)
                else:  # ansible-core 2.16: no such option; _fix_attributes() below sets owner and mode
                    self.module.atomic_move(tmp, self.dest)
            finally:
                os.umask(old_umask)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        self._fix_attributes()
        self._fsync_dir(self.chaves)

    def _secure_backup(self, path):
        """A backup holds a private key: same owner as the deployed file, readable by the owner only."""
        os.lchown(path, self.uid, self.gid)
        os.chmod(path, 0o600)

    def _fix_attributes(self):
        st = os.lstat(self.dest)
        if not stat.S_ISREG(st.st_mode):
            self.fail("%s deixou de ser um arquivo comum durante a execução; execute de novo" % self.dest)
        if (st.st_uid, st.st_gid) != (self.uid, self.gid):
            os.lchown(self.dest, self.uid, self.gid)
        if stat.S_IMODE(st.st_mode) != self.mode:
            os.chmod(self.dest, self.mode)

    @staticmethod
    def _fsync_dir(path):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _prune(self):
        for entry in self.to_prune:
            path = os.path.join(self.chaves, entry)
            entry_st = lstat_or_none(path)
            if entry_st is None:
                continue
            if self.backup and stat.S_ISREG(entry_st.st_mode):
                self._ensure_backup_dir()
                backup = self._backup_path(entry)
                try:
                    os.rename(path, backup)
                except OSError:
                    shutil.copy2(path, backup)
                    os.unlink(path)
                self._secure_backup(backup)
                self.result["pruned_backup_files"].append(backup)
            else:
                os.unlink(path)

    def _remove_stale(self):
        for entry in self.stale:
            try:
                os.unlink(os.path.join(self.chaves, entry))
            except FileNotFoundError:
                pass

    def apply(self):
        try:
            if self.stale:
                self._remove_stale()
            if self.result["dir_changed"]:
                self._make_dir(self.chaves, self.dir_mode, self.uid, self.gid)
            if self.result["content_changed"]:
                self._write()
            elif self.result["attributes_changed"]:
                self._fix_attributes()
            if self.to_prune:
                self._prune()
        except OSError as exc:
            self.fail("falha ao gravar em %s: %s (%s); confira permissões e espaço em disco"
                      % (self.chaves, exc.strerror or exc, getattr(exc, "filename", None) or self.chaves))
        except Exception as exc:  # atomic_move() raises plain Exception on some failures
            self.fail("falha ao gravar o certificado em %s: %s; confira permissões e espaço em disco" % (self.chaves, exc))

    def finish(self):
        st = lstat_or_none(self.dest) if not self.module.check_mode else None
        if st is not None:
            self.result.update(checksum=sha256_file(self.dest), owner=user_name(st.st_uid), group=group_name(st.st_gid),
                               mode=format_mode(st.st_mode), size=st.st_size)
        else:
            self.result.update(checksum=self.checksum, owner=user_name(self.uid), group=group_name(self.gid),
                               mode=format_mode(self.mode), size=len(self.data))
        return self.result


def main():
    module = AnsibleModule(argument_spec=certificate_argument_spec(), supports_check_mode=True)
    deployer = Deployer(module)
    try:
        deployer.validate()
        deployer.inspect()
        deployer.plan()
        result_diff = deployer.diff() if module._diff else None
        if not module.check_mode and deployer.result["changed"]:
            deployer.apply()
        result = deployer.finish()
        if result_diff is not None and result["changed"]:
            result["diff"] = result_diff
    finally:
        deployer.unlock()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
