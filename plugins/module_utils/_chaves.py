# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds: file logic for the PEC ``chaves`` folder (stdlib only, Python >= 3.6 syntax).

Shared by the ``pec_certificate`` module (host), its action plugin (controller, name checks
only) and the ``pec_info`` module. Messages meant for operators are in Portuguese (pt-BR).

The folders below ``webserver`` may belong to the PEC service account, which can then create,
rename and remove entries there while a module runs as root. So the ``*_at`` helpers work on
descriptors: a folder is opened once (``O_NOFOLLOW | O_DIRECTORY``) and every entry below it is
reached relative to that descriptor, never through a path that could be swapped for a link.
"""

from __future__ import absolute_import, division, print_function

import errno
import grp
import hashlib
import os
import pwd
import secrets
import stat

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

# open(2) flags that may be missing on some platforms (the module refuses to run without them).
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


DEFAULT_INSTALL_DIR = "/opt/e-SUS"
# Options handled on the controller only (the action plugin never sends them to the host).
CONTROLLER_ONLY_OPTIONS = ("src", "password", "min_days_remaining", "expected_cnpj", "require_icp_brasil", "validate_only",
                           "from_inventory", "windows_service_account")
# Options the action plugin fills in itself.
TRANSFER_OPTIONS = ("content", "checksum")


def certificate_argument_spec():
    """Argument spec of esus.rnds.pec_certificate (module and action plugin)."""
    return dict(
        src=dict(type="path"),
        password=dict(type="str", no_log=True),
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


def check_certificate_name(name):
    """Return a pt-BR error message when ``name`` is not a safe PKCS#12 file name, else None."""
    if not isinstance(name, str):
        return "o nome do certificado deve ser um texto (recebido: %s)" % type(name).__name__
    reason = _bad_component(name)
    if reason:
        return ("o nome de arquivo do certificado %r %s; use um nome simples terminado em .pfx ou .p12 "
                "(rnds_certificate_name)" % (name, reason))
    lower = name.lower()
    if not lower.endswith(PKCS12_SUFFIXES):
        return ("o nome de arquivo do certificado %r não termina em .pfx ou .p12: o PEC só lista arquivos "
                ".pfx/.p12 na pasta chaves (um .cer não serve); ajuste rnds_certificate_name" % name)
    if lower in PKCS12_SUFFIXES:
        return "o nome de arquivo do certificado %r não tem nome antes da extensão; ajuste rnds_certificate_name" % name
    return None


def check_dirname(name):
    """Return a pt-BR error message when ``name`` is not a safe folder name, else None."""
    if not isinstance(name, str):
        return "o nome da pasta de chaves deve ser um texto"
    reason = _bad_component(name)
    if reason:
        return "o nome da pasta de chaves %r %s; use 'chaves' (rnds_chaves_dirname)" % (name, reason)
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


def sha256_fd(fd, chunk=65536):
    """SHA-256 of the whole file open on ``fd`` (read with pread: the offset of ``fd`` is left alone)."""
    digest = hashlib.sha256()
    offset = 0
    while True:
        block = os.pread(fd, chunk, offset)
        if not block:
            break
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- descriptor helpers

def lstat_at(dir_fd, name):
    """lstat of ``name`` relative to the folder open on ``dir_fd`` (never follows a link), or None."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_dir_at(dir_fd, name):
    """Open the folder ``name`` (relative to ``dir_fd``, or a path when ``dir_fd`` is None) without following a
    link in its last component. Raises OSError (ELOOP for a link, ENOTDIR for anything else)."""
    flags = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
    if dir_fd is None:
        return os.open(name, flags)
    return os.open(name, flags, dir_fd=dir_fd)


def open_file_at(dir_fd, name):
    """Open the regular file ``name`` read-only without following a link and without blocking on a FIFO.

    Raises OSError: ELOOP for a link, EINVAL (with a message) when the entry is not a regular file.
    """
    flags = os.O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
    fd = os.open(name, flags) if dir_fd is None else os.open(name, flags, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "não é um arquivo comum", name)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_at(dir_fd, make_name, mode=0o600, attempts=64):
    """Create a new file relative to ``dir_fd`` with O_CREAT|O_EXCL|O_NOFOLLOW (never an existing entry, never
    through a link); ``make_name()`` gives a fresh, unpredictable name on each call. Returns (fd, name)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC
    for _attempt in range(attempts):
        name = make_name()
        try:
            return os.open(name, flags, mode, dir_fd=dir_fd), name
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "não foi possível criar um arquivo com nome novo", make_name())


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


def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def copy_fd(src_fd, dst_fd, chunk=65536):
    """Copy the whole file open on ``src_fd`` (from offset 0, with pread) to ``dst_fd``."""
    offset = 0
    while True:
        block = os.pread(src_fd, chunk, offset)
        if not block:
            break
        write_all(dst_fd, block)
        offset += len(block)


def same_file(st_a, st_b):
    return st_a is not None and st_b is not None and (st_a.st_dev, st_a.st_ino) == (st_b.st_dev, st_b.st_ino)


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


def resolve_uid(owner):
    """User name or numeric id -> uid; raises ValueError (pt-BR) when the user does not exist."""
    text = str(owner)
    if text.isdigit():
        return int(text)
    try:
        return pwd.getpwnam(text).pw_uid
    except KeyError:
        raise ValueError("o usuário %r não existe neste servidor; ajuste rnds_chaves_owner" % text) from None


def resolve_gid(group):
    """Group name or numeric id -> gid; raises ValueError (pt-BR) when the group does not exist."""
    text = str(group)
    if text.isdigit():
        return int(text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise ValueError("o grupo %r não existe neste servidor; ajuste rnds_chaves_group" % text) from None


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


def lstat_or_none(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


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
