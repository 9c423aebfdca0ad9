# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File races in chaves: an unprivileged owner of chaves against pec_certificate running as root.

docs/security.md recommends rnds_chaves_owner = the PEC service account, so that account owns
``chaves`` and ``chaves-backup`` and can create, rename and remove entries in them while the module
(root) works there. A racer process running as ``nobody`` (a forked child that drops to that user)
swaps entries in a tight loop for symbolic links to root-only canary files:

- ``chaves/<name>.pfx`` (the file the module inspects, backs up, fixes and replaces) and a
  same-content copy with a wrong mode (so the "fix the attributes" path runs too);
- ``chaves/velho.pfx`` (a file that ``prune`` backs up and removes);
- the predictable backup names ``chaves-backup/<name>.<stamp>[.<n>].bak`` of the seconds around now;
- the temporary files ``.esus-rnds-*.tmp`` it sees appear in ``chaves``;
- a hard link to a canary (refused by the kernel when fs.protected_hardlinks=1) and the lock file in
  ``webserver`` (root-owned, so out of its reach): both tried, both recorded.

The module runs in process (so hundreds of runs fit in seconds) with owner/group = nobody. After
every run the canaries (root:root 0400 in a root-only folder) are compared (SHA-256, mode, owner,
size, mtime, link count) and every file in ``chaves`` and ``chaves-backup`` is searched for their
contents. A run in which a canary was read (copied into those folders) or changed is a win for the
attacker; the test wants none, and wants proof that the race was real (the racer swapped entries
thousands of times, some runs wrote and backed up, some were refused because of a swap).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import pwd
import secrets
import shutil
import stat
import tempfile
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.esus.rnds.plugins.modules import pec_certificate

NAME = "fms.pfx"
PRUNED = "velho.pfx"
MAX_RUNS = 1000
TIME_BUDGET = 40.0  # seconds of module runs; the whole test stays well under a minute
MIN_RUNS = 100
CANARIES = 3

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (the module as root, the racer as nobody)")


def _attacker():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user on this machine")
    return None


def _racer(chaves, backup_dir, webserver, canaries, stop_file, deadline, report_fd):
    """Body of the racer (already running as the unprivileged user). Never returns."""
    stats = {"iterations": 0, "swaps": 0, "hardlink_allowed": False, "lock_reachable": False, "errors": 0}
    try:
        os.link(canaries[0], os.path.join(chaves, ".racer-hardlink"))
        stats["hardlink_allowed"] = True
    except OSError:
        pass
    try:
        os.symlink(canaries[0], os.path.join(webserver, ".esus-rnds.lock"))
        stats["lock_reachable"] = True
    except OSError:
        pass
    rand = secrets.SystemRandom()
    cert = b"conteudo do atacante"
    dest = os.path.join(chaves, NAME)
    pruned = os.path.join(chaves, PRUNED)

    def plant_link(path):
        tmp = os.path.join(chaves, ".racer-%d" % rand.randrange(1 << 30))
        os.symlink(rand.choice(canaries), tmp)
        os.rename(tmp, path)

    def plant_file(path, data, mode):
        tmp = os.path.join(chaves, ".racer-%d" % rand.randrange(1 << 30))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        os.write(fd, data)
        os.fchmod(fd, mode)
        os.close(fd)
        os.rename(tmp, path)

    def remember_certificate():
        """Keep the deployed certificate (readable by its owner) to fake "same content, wrong mode"."""
        try:
            fd = os.open(dest, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return cert
        try:
            data = os.read(fd, 1 << 20)
        finally:
            os.close(fd)
        return data if data and not data.startswith(b"conteudo do atacante") else cert

    def swap_temp_files():
        for entry in os.listdir(chaves):
            if entry.startswith(".esus-rnds-") or entry.startswith(".ansible_tmp"):
                try:
                    os.rename(os.path.join(chaves, entry), os.path.join(chaves, ".racer-moved-%d" % rand.randrange(1 << 30)))
                    os.symlink(rand.choice(canaries), os.path.join(chaves, entry))
                    stats["swaps"] += 1
                except OSError:
                    pass
            elif entry.startswith(".racer-moved-"):
                os.unlink(os.path.join(chaves, entry))

    def flip_backup_names():
        if not os.path.isdir(backup_dir):
            return
        now = time.time()
        for offset in (-1, 0, 1):
            stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now + offset))
            for base in (NAME, PRUNED):
                for suffix in (".bak", ".2.bak", ".3.bak"):
                    path = os.path.join(backup_dir, "%s.%s%s" % (base, stamp, suffix))
                    try:
                        os.symlink(rand.choice(canaries), path)
                        stats["swaps"] += 1
                    except FileExistsError:
                        if os.path.islink(path):
                            os.unlink(path)

    actions = [
        lambda: plant_link(dest),
        lambda: plant_file(dest, cert, 0o644),  # same bytes, wrong mode: the module only fixes attributes
        lambda: plant_file(dest, b"conteudo do atacante", 0o640),
        lambda: plant_link(pruned),
        lambda: plant_file(pruned, b"certificado antigo", 0o640),
        swap_temp_files,
        flip_backup_names,
    ]
    while time.monotonic() < deadline and not os.path.exists(stop_file):
        stats["iterations"] += 1
        try:
            cert = remember_certificate()
            for action in rand.sample(actions, len(actions)):
                action()
                stats["swaps"] += 1
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EEXIST):
                stats["errors"] += 1
    os.write(report_fd, json.dumps(stats).encode())
    os._exit(0)  # pylint: disable=protected-access


def _start_racer(user, *args):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to the unprivileged user, then race
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            _racer(*(args + (write_fd,)))
        finally:
            os._exit(3)  # pylint: disable=protected-access
    os.close(write_fd)
    return pid, read_fd


def _stop_racer(pid, read_fd, stop_file):
    with open(stop_file, "w"):
        pass
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    _pid, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    return json.loads(b"".join(chunks).decode())


def _snapshot(path):
    st = os.lstat(path)
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    return (digest, st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_nlink)


def _write_canary(path, token):
    if os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
    os.write(fd, token)
    os.fchown(fd, 0, 0)
    os.fchmod(fd, 0o400)
    os.close(fd)


def _leaks(folders, tokens):
    """Files in ``folders`` (not following links) that contain one of ``tokens``; removes the backups seen."""
    found = []
    for folder, clean in folders:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(folder, entry)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    data = os.read(fd, 1 << 20)
                    if any(token in data for token in tokens):
                        found.append(path)
            finally:
                os.close(fd)
            if clean and not os.path.islink(path):
                try:
                    os.unlink(path)  # keep chaves-backup small (hundreds of runs)
                except OSError:
                    pass
    return found


def _run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            pec_certificate.main()
    out = capsys.readouterr().out
    try:
        return info.value.code, json.loads(out)
    except ValueError:  # two JSON documents (fail_json called twice): the first is the result
        return info.value.code, dict(json.JSONDecoder().raw_decode(out.lstrip())[0], extra_output=out)


def test_unprivileged_chaves_owner_cannot_make_root_read_or_change_other_files(capsys):
    user = _attacker()
    lab = tempfile.mkdtemp(prefix="esus-rnds-race-")
    try:
        os.chmod(lab, 0o755)
        vault = os.path.join(lab, "somente-root")
        os.mkdir(vault, 0o700)
        install_dir = os.path.join(lab, "e-SUS")
        webserver = os.path.join(install_dir, "webserver")
        chaves = os.path.join(webserver, "chaves")
        backup_dir = os.path.join(webserver, "chaves-backup")
        os.makedirs(webserver)
        for path in (lab, install_dir, webserver):
            os.chmod(path, 0o755)
        os.mkdir(chaves, 0o750)
        os.chown(chaves, user.pw_uid, user.pw_gid)
        canaries, tokens = [], []
        for number in range(CANARIES):
            token = ("canario-%d-%s" % (number, secrets.token_hex(16))).encode()
            path = os.path.join(vault, "canario-%d" % number)
            _write_canary(path, token)
            canaries.append(path)
            tokens.append(token)
        expected = dict((path, _snapshot(path)) for path in canaries)
        contents = [("certificado %s %d" % (secrets.token_hex(8), number)).encode() * 64 for number in range(2)]
        stop_file = os.path.join(lab, "parar")
        fds_before = len(os.listdir("/proc/self/fd"))

        started = time.monotonic()
        pid, read_fd = _start_racer(user, chaves, backup_dir, webserver, canaries, stop_file,
                                    started + TIME_BUDGET + 20)
        runs = wins = 0
        outcomes = {}
        win_details = []
        try:
            while runs < MAX_RUNS and time.monotonic() - started < TIME_BUDGET:
                data = contents[(runs // 2) % 2]  # the same content twice in a row: the attributes path runs too
                args = {"name": NAME, "install_dir": install_dir, "content": base64.b64encode(data).decode(),
                        "checksum": hashlib.sha256(data).hexdigest(), "owner": str(user.pw_uid),
                        "group": str(user.pw_gid), "prune": runs % 3 == 0, "backup": True}
                code, result = _run_module(args, capsys)
                runs += 1
                if code == 0:
                    key = "ok, cópia de segurança" if result.get("backup_file") or result.get("pruned_backup_files") else "ok"
                else:
                    key = "falhou: " + result["msg"].replace(lab, "")[:90]
                if "extra_output" in result:
                    key += " (saída dupla)"
                outcomes[key] = outcomes.get(key, 0) + 1
                leaked = _leaks([(chaves, False), (backup_dir, True)], tokens)
                changed = [path for path in canaries if _snapshot(path) != expected[path]]
                if leaked or changed:
                    wins += 1
                    win_details.append({"run": runs, "read": leaked, "changed": changed, "result": result.get("msg", "ok")})
                    for number, path in enumerate(canaries):
                        if path in changed:
                            _write_canary(path, tokens[number])
                            expected[path] = _snapshot(path)
                    for path in leaked:
                        if os.path.lexists(path):
                            os.unlink(path)
        finally:
            stats = _stop_racer(pid, read_fd, stop_file)
        elapsed = time.monotonic() - started
        print("hardening/race: %d runs in %.1f s, attacker wins: %d (root file read: %d, changed: %d); racer: %s; "
              "outcomes: %s; first wins: %s"
              % (runs, elapsed, wins, sum(1 for win in win_details if win["read"]),
                 sum(1 for win in win_details if win["changed"]), stats, outcomes, win_details[:5]))
        assert wins == 0, win_details[:10]
        # the race was real: enough runs, thousands of swaps, writes with backups and refusals caused by swaps
        assert runs >= MIN_RUNS, (runs, elapsed)
        assert stats["swaps"] >= 10 * runs and stats["errors"] == 0, stats
        assert outcomes.get("ok, cópia de segurança", 0) >= 5, outcomes
        assert sum(count for key, count in outcomes.items() if key.startswith("falhou")) >= 5, outcomes
        assert not stats["lock_reachable"]  # webserver is root-owned, as documented
        assert len(os.listdir("/proc/self/fd")) == fds_before  # no descriptor leaked by hundreds of runs
    finally:
        shutil.rmtree(lab, ignore_errors=True)
