# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): controller-side file writing shared by the action plugins."""

import os
import tempfile


def write_atomic(path, data, mode, prefix=".esus-rnds."):
    """Write ``data`` (bytes) to ``path`` through a temp file of ``mode`` in the same folder, fsync,
    then os.replace: a reader never sees half a file, and a failure leaves no temp file behind."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
