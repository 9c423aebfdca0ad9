# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds: file logic for the PEC ``chaves`` folder (stdlib only, Python >= 3.6 syntax).

Shared by the ``pec_certificate`` module (host), its action plugin (controller, name checks
only) and the ``pec_info`` module. Messages meant for operators are in Portuguese (pt-BR) and name
module options with ``_labels.option`` placeholders, rendered by the module.

The folders below ``webserver`` may belong to the PEC service account, which can then create,
rename and remove entries there while a module runs as root. So every file operation works on
descriptors (the ``*_at`` helpers of ``_fsat``): a folder is opened once (``O_NOFOLLOW | O_DIRECTORY``)
and every entry below it is reached relative to that descriptor, never through a path that could be
swapped for a link.
"""

from __future__ import absolute_import, division, print_function

import errno
import fcntl
import grp
import hashlib
import os
import pwd
import secrets
import stat
import time

from ansible_collections.esus.rnds.plugins.module_utils._fsat import (
    O_CLOEXEC,
    O_NOFOLLOW,
    O_NONBLOCK,
    lstat_at,
    lstat_or_none,
    open_file_at,
    sha256_fd,
)
from ansible_collections.esus.rnds.plugins.module_utils._labels import OPTION_LABELS_SPEC, option

__metaclass__ = type

PKCS12_SUFFIXES = (".pfx", ".p12")
CER_SUFFIXES = (".cer", ".crt", ".der", ".pem")
PRUNE_SUFFIXES = (".pfx", ".p12", ".cer")
BACKUP_DIRNAME_SUFFIX = "-backup"
TEMP_PREFIX = ".esus-rnds-"
TEMP_SUFFIX = ".tmp"
# Lock file of pec_certificate, in webserver/ (next to chaves, never inside it).
LOCK_BASENAME = ".esus-rnds.lock"
# Prefix of the temporary file Ansible's atomic_move() creates next to the destination when a
# plain rename is not possible (it ends with the destination name, so it could be a ".pfx").
ANSIBLE_TEMP_PREFIX = ".ansible_tmp"
MAX_NAME_BYTES = 255

DEFAULT_INSTALL_DIR = "/opt/e-SUS"
# Options handled on the controller only (the action plugin never sends them to the host); ``password``
# is the alias of ``passphrase``.
CONTROLLER_ONLY_OPTIONS = ("src", "passphrase", "password", "min_days_remaining", "expected_cnpj",
                           "require_icp_brasil", "validate_only", "from_inventory", "windows_service_account")
# Options the action plugin fills in itself.
TRANSFER_OPTIONS = ("content", "checksum")


def certificate_argument_spec():
    """Argument spec of esus.rnds.pec_certificate (module and action plugin)."""
    return dict(
        src=dict(type="path"),
        passphrase=dict(type="str", no_log=True, aliases=["password"]),
        name=dict(type="str"),
        install_dir=dict(type="path", default=DEFAULT_INSTALL_DIR),
        chaves_dirname=dict(type="str", default="chaves"),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="root"),
        mode=dict(type="raw", default="0640"),
        dir_mode=dict(type="raw", default="0750"),
        backup=dict(type="bool", default=True),
        prune=dict(type="bool", default=False),
        keep=dict(type="list", elements="str", default=[]),
        min_days_remaining=dict(type="int", default=30),
        expected_cnpj=dict(type="str"),
        require_icp_brasil=dict(type="bool", default=False),
        validate_only=dict(type="bool", default=False),
        from_inventory=dict(type="bool", default=False),
        windows_service_account=dict(type="str", default=""),
        content=dict(type="str", no_log=True),
        checksum=dict(type="str"),
        option_labels=OPTION_LABELS_SPEC,
    )


def kind_of(name):
    """Classify a file name: ``pkcs12`` (.pfx/.p12), ``cer`` (certificate only) or ``other``."""
    lower = name.lower()
    if lower.endswith(PKCS12_SUFFIXES):
        return "pkcs12"
    if lower.endswith(CER_SUFFIXES):
        return "cer"
    return "other"


def _bad_component(value):
    """Return a pt-BR reason when ``value`` cannot be a single path component, else None."""
    if not value:
        return "está vazio"
    if "/" in value or "\\" in value:
        return "contém uma barra ('/' ou '\\'): informe só o nome, sem pasta"
    if "\x00" in value:
        return "contém o caractere NUL"
    if ".." in value:
        return "contém '..'"
    if value in (".",):
        return "não é um nome de arquivo"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contém caracteres de controle"
    if len(value.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        return "tem mais de %d bytes" % MAX_NAME_BYTES
    return None


def check_certificate_name(name, option_name=None):
    """Return a pt-BR error message when ``name`` is not a safe PKCS#12 file name, else None.

    ``option_name``: the module option that holds the name, named in the message (a placeholder).
    """
    fix = ("; ajuste %s" % option(option_name)) if option_name else ""
    if not isinstance(name, str):
        return "o nome do certificado deve ser um texto (recebido: %s)%s" % (type(name).__name__, fix)
    reason = _bad_component(name)
    if reason:
        return "o nome de arquivo do certificado %r %s; use um nome simples terminado em .pfx ou .p12%s" % (name, reason, fix)
    lower = name.lower()
    if not lower.endswith(PKCS12_SUFFIXES):
        return ("o nome de arquivo do certificado %r não termina em .pfx ou .p12: o PEC só lista arquivos "
                ".pfx/.p12 na pasta chaves (um .cer não serve)%s" % (name, fix))
    if lower in PKCS12_SUFFIXES:
        return "o nome de arquivo do certificado %r não tem nome antes da extensão%s" % (name, fix)
    return None


def check_dirname(name):
    """Return a pt-BR error message when ``name`` is not a safe folder name, else None."""
    if not isinstance(name, str):
        return "o nome da pasta de chaves deve ser um texto"
    reason = _bad_component(name)
    if reason:
        return "o nome da pasta de chaves %r %s; use 'chaves' (%s)" % (name, reason, option("chaves_dirname"))
    return None


def parse_mode(value, what, allow_exec=True):
    """Turn ``value`` ('0640', '640' or an int such as YAML 0640) into an int mode.

    Raises ValueError with a pt-BR message for malformed modes, special bits or any
    permission for "others" (world bits): a private key must never be world-accessible.
    """
    if isinstance(value, bool):
        raise ValueError("%s inválido: %r (use um texto octal como '0640')" % (what, value))
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        if text.startswith("0o"):
            text = text[2:]
        if not text or len(text) > 4 or any(ch not in "01234567" for ch in text):
            raise ValueError("%s inválido: %r (use um texto octal como '0640', entre aspas no YAML)" % (what, value))
        mode = int(text, 8)
    if mode < 0 or mode > 0o7777:
        raise ValueError("%s inválido: %r (use um texto octal como '0640')" % (what, value))
    if mode & 0o7000:
        raise ValueError("%s %s usa bits especiais (setuid/setgid/sticky), que não são aceitos aqui" % (what, format_mode(mode)))
    if mode & 0o007:
        raise ValueError(
            "%s %s dá acesso a qualquer usuário do servidor (bits de 'outros'); a chave privada não pode "
            "ficar legível para todos: use por exemplo '0640' para o arquivo e '0750' para a pasta" % (what, format_mode(mode))
        )
    if not allow_exec and mode & 0o111:
        raise ValueError("%s %s marca o certificado como executável; use por exemplo '0640'" % (what, format_mode(mode)))
    return mode


def parse_target(name, dirname, mode, dir_mode):
    """Check pec_certificate's ``name``, ``chaves_dirname``, ``mode`` and ``dir_mode`` (controller and host alike).

    Returns (file mode, folder mode) as ints; raises ValueError with a pt-BR message naming the option.
    """
    problem = check_certificate_name(name, "name") or check_dirname(dirname)
    if problem:
        raise ValueError(problem)
    return (parse_mode(mode, "o modo do arquivo (%s)" % option("mode"), allow_exec=False),
            parse_mode(dir_mode, "o modo da pasta chaves (%s)" % option("dir_mode")))


def format_mode(mode):
    return "%04o" % (mode & 0o7777)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path, chunk=65536):
    """SHA-256 of the regular file ``path``; a link, FIFO or device is refused (OSError), never followed or read."""
    fd = open_file_at(None, path)
    try:
        return sha256_fd(fd, chunk)
    finally:
        os.close(fd)


def _open_lock(dir_fd, path, parent):
    flags = os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
    try:
        fd = os.open(LOCK_BASENAME, flags, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError("%s é um link simbólico: remova-o (é o arquivo de trava do esus.rnds)" % path) from None
        raise ValueError("não foi possível criar o arquivo de trava %s: %s; confira as permissões de %s"
                         % (path, exc.strerror, parent)) from None
    st = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(st.st_mode):
        problem = "%s existe mas não é um arquivo comum: remova-o (é o arquivo de trava do esus.rnds)" % path
    elif st.st_nlink > 1:
        problem = ("%s tem mais de um link físico (hard link): remova-o (é o arquivo de trava do esus.rnds e "
                   "pode estar ligado a outro arquivo do servidor)" % path)
    if problem:
        os.close(fd)
        raise ValueError(problem)
    if stat.S_IMODE(st.st_mode) != 0o600 and st.st_uid == os.geteuid():
        os.fchmod(fd, 0o600)
    return fd


def lock_at(dir_fd, parent, chaves, timeout):
    """Take pec_certificate's lock: ``flock`` on LOCK_BASENAME in the folder open on ``dir_fd`` (``parent``,
    the ``webserver`` folder, for messages), waiting up to ``timeout`` seconds. Returns its descriptor.

    The lock file lives in ``webserver/`` (never in ``chaves``, so the PEC never lists it); it is created
    0600 without following a link and kept between runs (removing it would race with a waiting run).
    Raises ValueError (pt-BR) when the file is unsafe or another run holds the lock too long.
    """
    path = os.path.join(parent, LOCK_BASENAME)
    fd = _open_lock(dir_fd, path, parent)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
        if time.monotonic() >= deadline:
            os.close(fd)
            raise ValueError("outra execução do esus.rnds está gravando em %s há mais de %d s (trava %s): espere ela "
                             "terminar e rode de novo; se não houver outra execução, confira se um processo python "
                             "travou neste servidor" % (chaves, timeout, path))
        time.sleep(0.2)


def unlock(fd):
    """Release and close a lock taken with lock_at."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def random_token(nbytes=8):
    return secrets.token_hex(nbytes)


def temp_name():
    """Unpredictable name of a temporary file in chaves (the PEC lists only .pfx/.p12)."""
    return "%s%s%s" % (TEMP_PREFIX, random_token(), TEMP_SUFFIX)


def backup_name(name, stamp):
    """Unpredictable backup name ``<name>.<stamp>.<random>.bak`` (never .pfx/.p12), at most 255 bytes."""
    tail = ".%s.%s.bak" % (stamp, random_token())
    base = name
    while len((base + tail).encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        base = base[:-1]
    return base + tail


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _resolve_id(value, lookup, what, key):
    """Numeric id as is, else ``lookup(name)``; raises ValueError (pt-BR) naming ``what`` and the option ``key``."""
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise ValueError("%s %r não existe neste servidor; ajuste %s" % (what, text, option(key))) from None


def resolve_uid(owner):
    """User name or numeric id -> uid; raises ValueError (pt-BR) when the user does not exist."""
    return _resolve_id(owner, lambda name: pwd.getpwnam(name).pw_uid, "o usuário", "owner")


def resolve_gid(group):
    """Group name or numeric id -> gid; raises ValueError (pt-BR) when the group does not exist."""
    return _resolve_id(group, lambda name: grp.getgrnam(name).gr_gid, "o grupo", "group")


def case_variants(parent, name):
    """Entries of ``parent`` (a path or a folder descriptor) whose name equals ``name`` ignoring case but differs."""
    try:
        entries = os.listdir(parent)
    except OSError:
        return []
    lower = name.lower()
    return sorted(entry for entry in entries if entry.lower() == lower and entry != name)


def stale_temp_files(chaves):
    """Names of temporary files a killed pec_certificate run left in ``chaves`` (a path or a folder
    descriptor; the caller holds the lock)."""
    try:
        entries = os.listdir(chaves)
    except OSError:
        return []
    stale = []
    for entry in sorted(entries):
        ours = entry.startswith(TEMP_PREFIX) and entry.endswith(TEMP_SUFFIX)
        if not (ours or entry.startswith(ANSIBLE_TEMP_PREFIX)):
            continue
        if isinstance(chaves, int):
            st = lstat_at(chaves, entry)
        else:
            st = lstat_or_none(os.path.join(chaves, entry))
        if st is not None and (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            stale.append(entry)
    return stale


def describe(path, st=None):
    """Owner, group, mode and world access of ``path`` (lstat), or None when it does not exist."""
    if st is None:
        st = lstat_or_none(path)
    if st is None:
        return None
    return {
        "owner": user_name(st.st_uid),
        "group": group_name(st.st_gid),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mode": format_mode(stat.S_IMODE(st.st_mode)),
        "world_accessible": bool(stat.S_IMODE(st.st_mode) & 0o007),
        "is_symlink": stat.S_ISLNK(st.st_mode),
        "is_dir": stat.S_ISDIR(st.st_mode),
        "is_file": stat.S_ISREG(st.st_mode),
    }


def list_chaves(path, checksum=True):
    """Describe the entries of a ``chaves`` folder for pec_info (never follows symlinks)."""
    files = []
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return files
    for name in names:
        full = os.path.join(path, name)
        st = lstat_or_none(full)
        if st is None:
            continue
        mode = stat.S_IMODE(st.st_mode)
        entry = {
            "name": name,
            "size": st.st_size,
            "mode": format_mode(mode),
            "owner": user_name(st.st_uid),
            "group": group_name(st.st_gid),
            "kind": kind_of(name),
            "world_readable": bool(mode & 0o004),
            "is_symlink": stat.S_ISLNK(st.st_mode),
            "is_dir": stat.S_ISDIR(st.st_mode),
            "sha256": None,
        }
        if checksum and stat.S_ISREG(st.st_mode):
            try:
                entry["sha256"] = sha256_file(full)
            except OSError:
                entry["sha256"] = None
        files.append(entry)
    return files


def chaves_facts(install_dir, dirname="chaves", checksum=True):
    """The ``chaves`` part of pec_info's return value (see CONTRACTS.md) plus its case variants."""
    webserver = os.path.join(install_dir, "webserver")
    path = os.path.join(webserver, dirname)
    info = describe(path)
    is_dir = os.path.isdir(path)  # follows a symlink, as the PEC would
    facts = {
        "path": path,
        "exists": info is not None,
        "is_dir": is_dir,
        "is_symlink": bool(info and info["is_symlink"]),
        "owner": info["owner"] if info else None,
        "group": info["group"] if info else None,
        "mode": info["mode"] if info else None,
        "world_accessible": bool(info and info["world_accessible"]),
        "files": [],
    }
    if is_dir:
        facts["files"] = list_chaves(path, checksum=checksum)
    return facts, case_variants(webserver, dirname)
