# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pec_certificate
short_description: Deploy an A1 certificate (PKCS#12) into the C(chaves) folder of a PEC e-SUS APS server
version_added: 0.1.0
description:
  - Puts one C(.pfx)/C(.p12) certificate into C(<install_dir>/webserver/chaves) on a Linux PEC e-SUS APS
    server, in one module execution per certificate and host.
  - "The action plugin of the same name runs on the controller first: it reads O(src) (an
    ansible-vault encrypted file is decrypted in memory, never written to disk), opens it with
    O(passphrase), and refuses it before the host is touched when the password is wrong, the file is
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
    compares the SHA-256 of the existing file, writes a temporary file (0600, unpredictable name) in
    the same folder, fsyncs it, sets owner, group and mode on it, verifies its SHA-256 and renames it
    over the destination (atomic). A replaced file is backed up first."
  - "Every file operation works on descriptors: the installation folder is opened once, C(webserver),
    C(chaves) and C(chaves-backup) relative to it without following links, and every file below them
    relative to those folders (no link is ever followed, new files are created exclusively, owner and
    mode are set on the open file). So the owner of C(chaves) (for example the PEC service account)
    cannot make this module, running as root, read or change another file of the server by swapping
    entries for links while it runs; such a swap only makes the run fail. A certificate, a file to
    prune or a lock file with more than one hard link is refused."
  - "Runs that write into the same installation at the same time are serialised by a lock
    (C(flock) on C(<install_dir>/webserver/.esus-rnds.lock), mode 0600, never inside C(chaves)); a run
    waits up to 300 seconds for the other one. Temporary files that an interrupted run left in C(chaves)
    (C(.esus-rnds-*.tmp)) are removed under that lock. Check mode takes no lock and writes nothing."
  - "Backups go to the sibling folder C(<install_dir>/webserver/chaves-backup/) (mode 0700), named
    C(<file>.<YYYYmmddTHHMMSS>.<random>.bak) (copied from the file that was checked, never moved): never
    C(*.pfx)/C(*.p12) and never inside C(chaves), so the PEC does not list them as certificates."
  - "Windows servers (the task's connection runs PowerShell): the action plugin validates the file on the
    controller the same way, then drives C(ansible.windows) modules in the same task - M(ansible.windows.win_file)
    creates C(chaves), M(ansible.windows.win_acl) gives full control to Administrators and SYSTEM (well-known SIDs
    C(S-1-5-32-544) and C(S-1-5-18)) and read access to O(windows_service_account), M(ansible.windows.win_acl_inheritance)
    removes the inherited permissions, and M(ansible.windows.win_copy) copies the file (no password is sent).
    NOT TRIED ON A REAL WINDOWS SERVER: the collection's tests check the calls against stand-ins of those modules.
    O(owner), O(group), O(mode), O(dir_mode) and O(prune) do not apply there (O(prune) is refused)."
  - With O(from_inventory=true) one task handles every certificate of the host, read from its inventory variables
    (the roles of this collection work this way, one task per host). Every missing variable of every municipality
    fails the task in one message before any file is read; then every file is validated on the controller before
    any of them is sent.
author:
  - esus.rnds maintainers (!UNKNOWN)
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.files
  - esus.rnds.attributes.flow
  - esus.rnds.attributes.platform
  - esus.rnds.option_labels
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
    platforms: [posix, windows]
  safe_file_operations:
    support: full
options:
  src:
    description:
      - Path of the C(.pfx)/C(.p12) file on the controller. May be encrypted with ansible-vault.
      - Relative paths are searched like M(ansible.builtin.copy) does (role C(files/), playbook dir).
      - Used by the action plugin only.
    type: path
  passphrase:
    description:
      - Password of the PKCS#12 file. Used on the controller only; never sent to the host, never logged.
      - The alias C(password) is the name this option had before; both work.
    type: str
    aliases: [password]
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
        and no connection is made. The audit uses it to check the inventory's files.
    type: bool
    default: false
  from_inventory:
    description:
      - Take the certificates from the host's inventory variables instead of O(src), O(passphrase), O(name),
        O(expected_cnpj), O(install_dir) and O(chaves_dirname) - C(rnds_municipios) (one item per municipality) or
        the host-level C(rnds_certificate_src), C(rnds_certificate_password), C(rnds_certificate_name),
        C(rnds_expected_cnpj), plus C(rnds_pec_install_dir) (default by operating system), C(rnds_chaves_dirname)
        and C(rnds_pec_os), as the role C(esus.rnds.certificate) documents them (they are checked against that role's
        argument spec).
      - Each distinct file is validated, then deployed (one module execution per file on Linux); the result lists
        them in RV(results) and their fingerprints in RV(fingerprints). O(keep) becomes the host's own files.
      - Each of O(owner), O(group), O(mode), O(dir_mode), O(backup), O(prune), O(min_days_remaining),
        O(require_icp_brasil) and O(windows_service_account) that the task leaves out takes the value of the host
        variable O(option_labels) names for it (for example C(owner) from C(rnds_chaves_owner)), read and checked with the
        others; an unset or empty variable leaves the option's default. The role C(esus.rnds.certificate) works this way.
    type: bool
    default: false
  windows_service_account:
    description:
      - Windows only. Account of the PEC service, given read access to C(chaves) besides Administrators and SYSTEM.
        Empty gives access to Administrators and SYSTEM only.
    type: str
    default: ""
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
  - The PEC only lists C(.pfx)/C(.p12) files; temporary files are named C(.esus-rnds-<random>.tmp).
  - When O(passphrase) occurs inside a public fact of the certificate (for example C(1122) inside the CNPJ), the
    task warns that the password is too weak, because other tasks that receive it with C(no_log)
    (M(esus.rnds.pkcs12_info), M(esus.rnds.rnds_auth), M(esus.rnds.pec_rnds)) return such facts masked as
    C(********). The checks of this action (O(expected_cnpj) included) run on the controller on the facts as
    read, never on masked values.
  - Opening a PKCS#12 file costs the controller about 40 ms of CPU. A file that passed validation is
    remembered between runs, by the SHA-256 of its bytes, in C($ESUS_RNDS_CERTIFICATE_CACHE) or else
    C($XDG_CACHE_HOME/esus.rnds/certificates) (C(~/.cache/esus.rnds/certificates)); C(ESUS_RNDS_CERTIFICATE_CACHE=off)
    turns this off. The entries hold only the public facts of RV(certificate) (no password, no key); one is
    used only for the same bytes and when the password of this task verifies the file's integrity MAC;
    the time-dependent facts and the policy checks are evaluated again at every run. A folder that is a
    symbolic link, not owned by the user running Ansible, or open to group or others is not used.
seealso:
  - module: esus.rnds.pec_info
  - module: esus.rnds.pkcs12_info
"""

EXAMPLES = r"""
- name: Deploy the certificate of the Fundo Municipal de Saúde
  esus.rnds.pec_certificate:
    src: files/fms-3550308.pfx
    passphrase: "{{ rnds_certificate_password }}"
    expected_cnpj: 12.345.678/0001-95

- name: Multimunicipal server, keep the other municipalities' files and remove the rest
  esus.rnds.pec_certificate:
    src: "{{ item.src }}"
    passphrase: "{{ item.password }}"
    prune: true
    keep: [fms-3304557.p12, fms-3106200.pfx]
  loop: "{{ certificates }}"
  loop_control:
    label: "{{ item.src | basename }}"

- name: Every certificate of the host, from its inventory variables (what the role esus.rnds.certificate does)
  esus.rnds.pec_certificate:
    from_inventory: true
    prune: true
  register: rnds_certificate_result

- name: Validate only, on the controller (no connection to the host)
  esus.rnds.pec_certificate:
    src: files/fms.pfx
    passphrase: "{{ rnds_certificate_password }}"
    validate_only: true
  register: checked
"""

RETURN = r"""
results:
  description:
    - With O(from_inventory=true), one entry per certificate file of the host, with the keys this module returns
      for one file (RV(path), RV(checksum), RV(certificate), RV(validation_cache) ...) plus C(name), C(changed) and,
      for a file that failed, C(failed) and C(msg).
  returned: when O(from_inventory=true) and the inventory check passed
  type: list
  elements: dict
fingerprints:
  description: With O(from_inventory=true), the SHA-256 fingerprint of each validated certificate, by file name.
  returned: when O(from_inventory=true) and every file was validated
  type: dict
  sample: {fms-3550308.pfx: 27ed747980c223763e99bf31d86bd141aa26d2c82e9e3b24d2a865d8abb6a56d}
inventory_problems:
  description: With O(from_inventory=true), the missing or inconsistent variables of each municipality (pt-BR).
  returned: when the inventory check failed
  type: list
  elements: str
path:
  description: Full path of the certificate on the host (a Windows path on Windows).
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
  sample: /opt/e-SUS/webserver/chaves-backup/fms-3550308.pfx.20260102T101500.3f9a1c0e2b7d4a65.bak
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
      C(disk) (a result of another host in the same run), C(memory) (an earlier item of the same loop) or
      C(store) (an earlier run validated the same bytes, and the password verified the file's MAC; see the notes).
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
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.esus.rnds.plugins.module_utils._chaves import (
    BACKUP_DIRNAME_SUFFIX,
    PRUNE_SUFFIXES,
    backup_name,
    case_variants,
    certificate_argument_spec,
    format_mode,
    group_name,
    lock_at,
    parse_target,
    resolve_gid,
    resolve_uid,
    sha256_bytes,
    stale_temp_files,
    temp_name,
    unlock,
    user_name,
)
from ansible_collections.esus.rnds.plugins.module_utils._fsat import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    copy_fd,
    create_at,
    lstat_at,
    open_dir_at,
    open_file_at,
    same_file,
    sha256_fd,
    write_all,
)
from ansible_collections.esus.rnds.plugins.module_utils._labels import option, render

# How long a run waits for another run writing into the same chaves folder.
LOCK_TIMEOUT = 300


class Deployer(object):
    """Plan and apply the deployment of one certificate file.

    Every file operation works on descriptors (see module_utils/_fsat.py): the installation folder is
    opened once, ``webserver``, ``chaves`` and ``chaves-backup`` are opened relative to it with
    O_NOFOLLOW|O_DIRECTORY, and every entry below them is reached relative to those descriptors. The
    certificate in place is opened once (O_NOFOLLOW, a regular file with a single link) and its backup is
    copied from that descriptor; new files are created with O_CREAT|O_EXCL under unpredictable names; owner
    and mode are set with fchown/fchmod. The owner of ``chaves`` (the PEC service account) can rename or
    swap entries while this runs: it can make the run fail, never make root read or write another file.
    """

    def __init__(self, module):
        self.module = module
        params = module.params
        self.name = params["name"]
        self.install_dir = params["install_dir"]
        self.dirname = params["chaves_dirname"]
        self.backup_dirname = self.dirname + BACKUP_DIRNAME_SUFFIX if self.dirname else None
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
        self.install_fd = self.web_fd = self.chaves_fd = self.backup_fd = self.dest_fd = self.final_fd = None
        self.chaves_st = self.dest_st = None
        self.stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.result.pop("changed", None)
        self.module.fail_json(msg=render(msg, self.module.params["option_labels"]), **self.result)

    def close(self):
        """Release the lock and close every descriptor (also when the module fails)."""
        self.unlock()
        opened = set()
        for attr in ("final_fd", "dest_fd", "backup_fd", "chaves_fd", "web_fd", "install_fd"):
            fd = getattr(self, attr)
            setattr(self, attr, None)
            if fd is not None and fd not in opened:
                opened.add(fd)
                os.close(fd)

    # ---------------------------------------------------------------- validation
    def validate(self):
        params = self.module.params
        if not self.name:
            self.fail("informe o nome do arquivo do certificado (%s); a ação esus.rnds.pec_certificate o preenche a "
                      "partir de %s" % (option("name"), option("src")))
        try:
            self.mode, self.dir_mode = parse_target(self.name, self.dirname, params["mode"], params["dir_mode"])
            self.uid = resolve_uid(params["owner"])
            self.gid = resolve_gid(params["group"])
        except ValueError as exc:
            self.fail(str(exc))
        if params["content"] is None:
            self.fail("o conteúdo do certificado não chegou ao servidor: use a ação esus.rnds.pec_certificate com %s "
                      "(a opção %s é preenchida pela action plugin)" % (option("src"), option("content")))
        try:
            self.data = base64.b64decode(params["content"], validate=True)
        except (binascii.Error, ValueError):
            self.fail("o conteúdo do certificado chegou corrompido (base64 inválido); execute a tarefa de novo")
        if not self.data:
            self.fail("o conteúdo do certificado chegou vazio; confira o arquivo de origem (%s)" % option("src"))
        self.checksum = sha256_bytes(self.data)
        expected = (params["checksum"] or "").strip().lower()
        if expected and expected != self.checksum:
            self.fail("o certificado chegou ao servidor diferente do original (SHA-256 não confere); "
                      "execute a tarefa de novo e verifique a conexão")

    def inspect(self):
        """Read the current state; refuse links and files where folders are expected."""
        if not (O_NOFOLLOW and O_DIRECTORY):
            self.fail("este sistema não oferece O_NOFOLLOW/O_DIRECTORY; o esus.rnds só grava em chaves num Linux")
        try:
            self.install_fd = os.open(self.install_dir, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        except OSError:
            self.fail("a pasta de instalação do PEC %s não existe neste servidor: instale o PEC ou ajuste %s"
                      % (self.install_dir, option("install_dir")))
        web_st = lstat_at(self.install_fd, "webserver")
        if web_st is None:
            self.fail("a pasta %s não existe: o PEC não parece instalado em %s; instale o PEC ou ajuste %s"
                      % (self.webserver, self.install_dir, option("install_dir")))
        if stat.S_ISLNK(web_st.st_mode):
            self.fail("%s é um link simbólico: por segurança o certificado não é gravado através de links; "
                      "substitua o link pela pasta real ou ajuste %s para o destino do link" % (self.webserver, option("install_dir")))
        if not stat.S_ISDIR(web_st.st_mode):
            self.fail("%s não é uma pasta; confira a instalação do PEC" % self.webserver)
        self.web_fd = self._open_dir(self.install_fd, "webserver", self.webserver)
        if not self.module.check_mode:
            self._lock()

        self.result["chaves_variants"] = case_variants(self.web_fd, self.dirname)
        for variant in self.result["chaves_variants"]:
            self.module.warn("existe também a pasta %s ao lado de %s (difere só em maiúsculas/minúsculas): o PEC "
                             "no Linux usa %s; confira qual pasta o PEC lê e remova a outra"
                             % (os.path.join(self.webserver, variant), self.dirname, self.chaves))

        chaves_st = lstat_at(self.web_fd, self.dirname)
        if chaves_st is not None:
            if stat.S_ISLNK(chaves_st.st_mode):
                self.fail("%s é um link simbólico: por segurança o certificado não é gravado através de links; "
                          "substitua o link por uma pasta" % self.chaves)
            if not stat.S_ISDIR(chaves_st.st_mode):
                self.fail("%s existe mas não é uma pasta: remova ou renomeie esse arquivo para que a pasta de "
                          "certificados possa ser criada" % self.chaves)
            self.chaves_fd = self._open_dir(self.web_fd, self.dirname, self.chaves)
            self.chaves_st = os.fstat(self.chaves_fd)
        backup_st = lstat_at(self.web_fd, self.backup_dirname)
        if backup_st is not None and (stat.S_ISLNK(backup_st.st_mode) or not stat.S_ISDIR(backup_st.st_mode)):
            if self.backup:
                self.fail("%s existe mas não é uma pasta (ou é um link simbólico): remova-o ou use %s=false"
                          % (self.backup_dir, option("backup")))

        # Temporary files of a run that was killed while writing (we hold the lock, so none is in use).
        self.stale = stale_temp_files(self.chaves_fd) if self.chaves_fd is not None else []
        self._inspect_dest()

    def _inspect_dest(self):
        """The certificate already in chaves under ``name``, if any: opened once, checksummed."""
        self.dest_checksum = None
        dest_st = lstat_at(self.chaves_fd, self.name) if self.chaves_fd is not None else None
        if dest_st is not None:
            if stat.S_ISLNK(dest_st.st_mode):
                self.fail("%s é um link simbólico: remova o link; o certificado é gravado como arquivo comum" % self.dest)
            if not stat.S_ISREG(dest_st.st_mode):
                self.fail("%s existe mas não é um arquivo comum: remova-o" % self.dest)
            self.dest_fd = self._open_file(self.chaves_fd, self.name, self.dest)
            self.dest_st = os.fstat(self.dest_fd)
            self.dest_checksum = sha256_fd(self.dest_fd)
            for other in case_variants(self.chaves_fd, self.name):
                self.module.warn("há também o arquivo %s em %s (difere só em maiúsculas/minúsculas): o PEC vai listar os dois"
                                 % (other, self.chaves))
        elif self.chaves_fd is not None:
            for other in case_variants(self.chaves_fd, self.name):
                self.module.warn("há o arquivo %s em %s (difere só em maiúsculas/minúsculas de %s): o PEC vai listar os dois"
                                 % (other, self.chaves, self.name))

    def _open_dir(self, parent_fd, name, path):
        """Open a folder relative to ``parent_fd`` without following a link; fail clearly if it was swapped."""
        try:
            return open_dir_at(parent_fd, name)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                self.fail("%s deixou de ser uma pasta durante a execução (foi trocada por um link ou arquivo); confira "
                          "quem mais mexe nessa pasta e execute de novo" % path)
            raise

    def _open_file(self, dir_fd, name, path):
        """Open a regular file with a single link relative to ``dir_fd``, never following a link."""
        try:
            fd = open_file_at(dir_fd, name)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EINVAL, errno.ENOENT):
                self.fail("%s deixou de ser um arquivo comum durante a execução (foi trocado por um link ou outro tipo "
                          "de arquivo); confira quem mais mexe na pasta e execute de novo" % path)
            raise
        if os.fstat(fd).st_nlink > 1:
            os.close(fd)
            self.fail("%s tem mais de um link físico (hard link): por segurança ele não é lido, copiado nem alterado "
                      "(poderia ser outro arquivo do servidor); apague os outros links ou substitua-o por uma cópia"
                      % path)
        return fd

    def plan(self):
        st = self.chaves_st
        self.result["dir_changed"] = st is None or (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (
            self.uid, self.gid, self.dir_mode)
        dst = self.dest_st
        self.result["content_changed"] = dst is None or self.dest_checksum != self.checksum
        self.result["attributes_changed"] = dst is not None and not self.result["content_changed"] and (
            (dst.st_uid, dst.st_gid, stat.S_IMODE(dst.st_mode)) != (self.uid, self.gid, self.mode))
        self.to_prune = []
        if self.prune and self.chaves_fd is not None:
            for entry in sorted(os.listdir(self.chaves_fd)):
                if entry == self.name or entry in self.keep or not entry.lower().endswith(PRUNE_SUFFIXES):
                    continue
                entry_st = lstat_at(self.chaves_fd, entry)
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
        """Serialise the runs that write into this installation (two ansible-playbook at once); see lock_at."""
        try:
            self.lock_fd = lock_at(self.web_fd, self.webserver, self.chaves, LOCK_TIMEOUT)
        except ValueError as exc:
            self.fail(str(exc))

    def unlock(self):
        if self.lock_fd is not None:
            fd, self.lock_fd = self.lock_fd, None
            unlock(fd)

    # ---------------------------------------------------------------- apply
    def _make_dir(self, name, path, mode):
        """Open the folder ``name`` of webserver (created 0700 if missing), then set owner and mode on its descriptor."""
        try:
            os.mkdir(name, 0o700, dir_fd=self.web_fd)
        except FileExistsError:
            pass
        fd = self._open_dir(self.web_fd, name, path)
        self._set_dir_attributes(fd, mode)
        return fd

    def _set_dir_attributes(self, fd, mode):
        st = os.fstat(fd)
        if (st.st_uid, st.st_gid) != (self.uid, self.gid):
            os.fchown(fd, self.uid, self.gid)
        if stat.S_IMODE(st.st_mode) != mode:
            os.fchmod(fd, mode)

    def _backup(self, src_fd, src_st, name):
        """Copy the file open on ``src_fd`` to a new file with an unpredictable name in chaves-backup.

        A backup holds a private key: same owner as the deployed file, readable by the owner only. The copy is
        made from the descriptor that was checked, so whatever is now at the name in chaves does not matter.
        """
        if self.backup_fd is None:
            self.backup_fd = self._make_dir(self.backup_dirname, self.backup_dir, 0o700)
        fd, bname = create_at(self.backup_fd, lambda: backup_name(name, self.stamp), 0o600)
        try:
            copy_fd(src_fd, fd)
            os.fchown(fd, self.uid, self.gid)
            os.fchmod(fd, 0o600)
            if os.utime in os.supports_fd:
                os.utime(fd, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))
            os.fsync(fd)
        finally:
            os.close(fd)
        self._fsync_dir(self.backup_fd)
        return os.path.join(self.backup_dir, bname)

    def _write(self):
        fd, tmp = create_at(self.chaves_fd, temp_name, 0o600)
        renamed = False
        try:
            try:
                write_all(fd, self.data)
                os.fsync(fd)
                os.fchown(fd, self.uid, self.gid)
                os.fchmod(fd, self.mode)
            except OSError as exc:
                self.fail("não foi possível gravar o arquivo temporário em %s: %s" % (self.chaves, exc.strerror))
            if sha256_fd(fd) != self.checksum:
                self.fail("o arquivo temporário gravado em %s não confere com o original (SHA-256); verifique o "
                          "disco do servidor" % self.chaves)
            if self.dest_fd is not None and self.backup:
                self.result["backup_file"] = self._backup(self.dest_fd, self.dest_st, self.name)
            # rename(2) replaces the entry itself (a link put there meanwhile is replaced, never followed).
            try:
                os.rename(tmp, self.name, src_dir_fd=self.chaves_fd, dst_dir_fd=self.chaves_fd)
            except FileNotFoundError:
                self.fail("o arquivo temporário %s sumiu de %s antes de ser renomeado: alguém mexe na pasta ao mesmo "
                          "tempo; confira quem tem acesso a ela e execute de novo" % (tmp, self.chaves))
            renamed = True
        finally:
            if not renamed:
                try:
                    os.unlink(tmp, dir_fd=self.chaves_fd)
                except OSError:
                    pass
                os.close(fd)
        self.final_fd = fd
        self._fsync_dir(self.chaves_fd)
        if not same_file(lstat_at(self.chaves_fd, self.name), os.fstat(fd)):
            self.fail("o certificado gravado em %s foi trocado por outro arquivo durante a gravação: alguém mexe na "
                      "pasta ao mesmo tempo; confira quem tem acesso a %s e execute de novo" % (self.dest, self.chaves))

    def _fix_attributes(self):
        """Owner and mode of the file that was inspected (its descriptor), if it is still the one in chaves."""
        if not same_file(lstat_at(self.chaves_fd, self.name), self.dest_st):
            self.fail("%s deixou de ser um arquivo comum durante a execução; execute de novo" % self.dest)
        st = os.fstat(self.dest_fd)
        if (st.st_uid, st.st_gid) != (self.uid, self.gid):
            os.fchown(self.dest_fd, self.uid, self.gid)
        if stat.S_IMODE(st.st_mode) != self.mode:
            os.fchmod(self.dest_fd, self.mode)
        self.final_fd = self.dest_fd

    @staticmethod
    def _fsync_dir(fd):
        try:
            os.fsync(fd)
        except OSError:
            pass

    def _prune(self):
        for entry in self.to_prune:
            path = os.path.join(self.chaves, entry)
            entry_st = lstat_at(self.chaves_fd, entry)
            if entry_st is None:
                continue
            if self.backup and stat.S_ISREG(entry_st.st_mode):
                fd = self._open_file(self.chaves_fd, entry, path)
                try:
                    fd_st = os.fstat(fd)
                    backup = self._backup(fd, fd_st, entry)
                    self.result["pruned_backup_files"].append(backup)
                    if not same_file(lstat_at(self.chaves_fd, entry), fd_st):
                        self.fail("%s foi trocado por outro arquivo durante a execução (a cópia de segurança %s tem o "
                                  "arquivo anterior); confira quem mais mexe na pasta e execute de novo" % (path, backup))
                finally:
                    os.close(fd)
            try:
                os.unlink(entry, dir_fd=self.chaves_fd)
            except FileNotFoundError:
                pass

    def _remove_stale(self):
        for entry in self.stale:
            try:
                os.unlink(entry, dir_fd=self.chaves_fd)
            except FileNotFoundError:
                pass

    def apply(self):
        try:
            if self.stale:
                self._remove_stale()
            if self.chaves_fd is None:
                self.chaves_fd = self._make_dir(self.dirname, self.chaves, self.dir_mode)
            elif self.result["dir_changed"]:
                self._set_dir_attributes(self.chaves_fd, self.dir_mode)
            if self.result["content_changed"]:
                self._write()
            elif self.result["attributes_changed"]:
                self._fix_attributes()
            if self.to_prune:
                self._prune()
        except OSError as exc:
            self.fail("falha ao gravar em %s: %s (%s); confira permissões e espaço em disco"
                      % (self.chaves, exc.strerror or exc, getattr(exc, "filename", None) or self.chaves))

    def finish(self):
        fd = None
        if not self.module.check_mode:
            fd = self.final_fd if self.final_fd is not None else self.dest_fd
        if fd is not None:
            st = os.fstat(fd)
            self.result.update(checksum=sha256_fd(fd), owner=user_name(st.st_uid), group=group_name(st.st_gid),
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
        deployer.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
