# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""File operations relative to folder descriptors that never follow a link (stdlib only, Python >= 3.6).

A folder is opened once (``O_NOFOLLOW | O_DIRECTORY``) and every entry below it is reached relative
to that descriptor, never through a path that could be swapped for a link meanwhile; new files are
created with ``O_CREAT | O_EXCL``. Used by ``pec_certificate`` (through ``_chaves``), on PEC servers.
"""

from __future__ import absolute_import, division, print_function

import errno
import hashlib
import os
import stat

__metaclass__ = type

# open(2) flags that may be missing on some platforms (the module refuses to run without them).
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


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


def read_small_file(path, limit, follow_links=False):
    """The bytes of the regular file ``path``, opened once and checked on the open descriptor: a link, a FIFO or a
    device swapped in between a check and the read can neither redirect nor block it.

    ``follow_links=False`` refuses a link in the last component (ELOOP). Raises OSError (with a pt-BR message):
    EISDIR for a folder, EINVAL for anything else that is not a regular file, EFBIG for more than ``limit`` bytes.
    """
    flags = os.O_RDONLY | O_NONBLOCK | O_CLOEXEC | (0 if follow_links else O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise OSError(errno.EISDIR, "é uma pasta", path)
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "não é um arquivo comum", path)
        chunks, size = [], 0
        while size <= limit:
            block = os.read(fd, 65536)
            if not block:
                return b"".join(chunks)
            chunks.append(block)
            size += len(block)
        raise OSError(errno.EFBIG, "tem mais de %d bytes" % limit, path)
    finally:
        os.close(fd)


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


def lstat_or_none(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
