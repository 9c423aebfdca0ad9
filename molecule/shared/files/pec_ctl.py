# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control the PEC simulator inside a Molecule container (standard library only).

Copied to the container by ``molecule/shared/prepare.yml`` next to ``server.py``::

    python3 pec_ctl.py start [--config FILE] [--timeout S]   # detached; returns once healthy
    python3 pec_ctl.py stop [--config FILE]
    python3 pec_ctl.py health [--config FILE]
    python3 pec_ctl.py fault [--config FILE] '{"http500": 2}'  # POST /__sim__/fault; '{}' reads
    python3 pec_ctl.py stats [--config FILE]                   # GET /__sim__/stats (sessions, locks)
    python3 pec_ctl.py login [--config FILE] CPF               # a person opens a PEC session as CPF
    python3 pec_ctl.py snapshot [--root DIR]   # files, state.json, audit.jsonl, requests.jsonl

``start`` reads a JSON config (default ``/etc/pec-simulator/config.json``): ``server``,
``listen`` (``127.0.0.1:8080``), ``install_dir``, ``admin_file``, ``municipios``
(``IBGE:NOME`` strings), ``faults`` (``NAME=VALUE`` strings), ``args`` (more simulator options,
e.g. ``--no-certificate-api``), ``log``. The simulator gets its own
session (``setsid``), stdin from /dev/null and its output in ``log``, so it outlives the
``docker exec`` that started it. Readiness: ``GET /__sim__/health`` polled every 0.1 s while the
process is alive, up to ``--timeout`` seconds. Every command prints one JSON line with ``changed``.
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import json
import os
import pwd
import grp
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

DEFAULT_CONFIG = "/etc/pec-simulator/config.json"
API_CONSUMER = ("Api-Consumer-Id", "ESUS_WEB_CLIENT")
LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { success } }"


def load_config(path):
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    config.setdefault("listen", "127.0.0.1:8080")
    config.setdefault("install_dir", "/opt/e-SUS")
    config.setdefault("log", "/var/log/pec-simulator.log")
    config.setdefault("municipios", [])
    config.setdefault("faults", [])
    config.setdefault("args", [])
    return config


def base_url(config):
    return "http://%s" % config["listen"]


def pid_file(config):
    return os.path.join(config["install_dir"], "pec-simulator", "pec-simulator.pid")


def running_pid(config):
    """PID of a live simulator according to its pid file, or None."""
    try:
        with open(pid_file(config), encoding="utf-8") as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            if handle.read().split()[2] == "Z":
                return None
    except (OSError, IndexError):
        return None
    return pid


def request(config, path, body=None, timeout=2.0):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(base_url(config) + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def healthy(config):
    try:
        return request(config, "/__sim__/health", timeout=1.0).get("status") == "ok"
    except (OSError, ValueError, urllib.error.URLError):
        return False


def log_tail(config, lines=20):
    try:
        with open(config["log"], encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return ""


def start(config, timeout):
    pid = running_pid(config)
    if pid and healthy(config):
        return {"changed": False, "pid": pid, "url": base_url(config), "message": "já em execução"}
    cmd = [sys.executable, config["server"], "--listen", config["listen"], "--install-dir", config["install_dir"],
           "--admin-file", config["admin_file"]]
    for municipio in config["municipios"]:
        cmd += ["--municipio", municipio]
    for fault in config["faults"]:
        cmd += ["--fault", fault]
    cmd += list(config["args"])
    log = open(config["log"], "ab")  # pylint: disable=consider-using-with
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,  # pylint: disable=consider-using-with
                                start_new_session=True, close_fds=True, cwd="/")
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("o simulador terminou com código %s:\n%s" % (proc.returncode, log_tail(config)))
        if healthy(config):
            return {"changed": True, "pid": proc.pid, "url": base_url(config), "message": "iniciado"}
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("o simulador não respondeu em %s em %ss:\n%s" % (base_url(config), timeout, log_tail(config)))


def stop(config, timeout=10.0):
    pid = running_pid(config)
    if pid is None:
        return {"changed": False, "message": "não estava em execução"}
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(config) == pid:
        time.sleep(0.05)
    if running_pid(config) == pid:
        os.kill(pid, signal.SIGKILL)
    return {"changed": True, "pid": pid, "message": "parado"}


def _digits(text):
    return "".join(char for char in text if char.isdigit())


def admin_password(config, cpf):
    """Password of ``cpf`` in the simulator's admin file (lines ``CPF:PASSWORD[:IBGE]``)."""
    with open(config["admin_file"], encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, _sep, rest = line.partition(":")
            if _digits(user) != _digits(cpf):
                continue
            if len(rest) > 8 and rest[-8] == ":" and rest[-7:].isdigit():
                rest = rest[:-8]
            return rest
    raise SystemExit("o CPF %s não está em %s" % (cpf, config["admin_file"]))


def person_login(config, cpf):
    """Open a PEC session as ``cpf`` like the web client does, and leave it open."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(urllib.request.Request(base_url(config) + "/", method="GET"), timeout=5.0) as response:
        response.read()
    headers = {"Content-Type": "application/json", API_CONSUMER[0]: API_CONSUMER[1],
               "apollographql-client-name": "PEC Web"}
    for cookie in jar:
        if cookie.name == "XSRF-TOKEN":
            headers["X-XSRF-TOKEN"] = cookie.value
    body = {"operationName": "Login", "query": LOGIN,
            "variables": {"input": {"username": _digits(cpf), "password": admin_password(config, cpf)}}}
    req = urllib.request.Request(base_url(config) + "/api/graphql", data=json.dumps(body).encode("utf-8"),
                                 method="POST", headers=headers)
    with opener.open(req, timeout=5.0) as response:
        answer = json.loads(response.read().decode("utf-8"))
    if isinstance(answer, list):
        answer = answer[0]
    if ((answer.get("data") or {}).get("login") or {}).get("success") is not True:
        raise SystemExit("o login do CPF %s foi recusado: %s" % (cpf, json.dumps(answer.get("errors"), ensure_ascii=False)))
    return {"changed": True, "user": _digits(cpf), "message": "sessão aberta"}


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _owner(st):
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return user, group


def _json_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def snapshot(root):
    """Every path under ``root`` (type, owner, mode, size, sha256) plus the simulator's state, audit log and
    request log. The request log (``pec-simulator/requests.jsonl``) grows with every request, reads
    included: it is returned as ``requests`` and left out of ``entries``."""
    requests_path = os.path.join(root, "pec-simulator", "requests.jsonl")
    entries = {}
    if os.path.lexists(root):
        for current, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(current, name)
                if path == requests_path:
                    continue
                st = os.lstat(path)
                user, group = _owner(st)
                entry = {"mode": "%04o" % stat.S_IMODE(st.st_mode), "owner": user, "group": group}
                if stat.S_ISDIR(st.st_mode):
                    entry["type"] = "directory"
                elif stat.S_ISLNK(st.st_mode):
                    entry.update(type="link", target=os.readlink(path))
                else:
                    entry.update(type="file", size=st.st_size, sha256=_sha256(path))
                entries[os.path.relpath(path, root)] = entry
    state_path = os.path.join(root, "pec-simulator", "state.json")
    audit_path = os.path.join(root, "pec-simulator", "audit.jsonl")
    state = None
    if os.path.exists(state_path):
        with open(state_path, encoding="utf-8") as handle:
            state = json.load(handle)
    return {"root": root, "entries": entries, "state": state, "audit": _json_lines(audit_path),
            "requests": _json_lines(requests_path)}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Controle do simulador do PEC no contêiner de teste")
    parser.add_argument("command", choices=["start", "stop", "health", "fault", "stats", "login", "snapshot"])
    parser.add_argument("body", nargs="?", default="{}",
                        help="fault: JSON enviado a /__sim__/fault; login: CPF do usuário")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--root", default="/opt/e-SUS")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        result = snapshot(args.root)
    else:
        config = load_config(args.config)
        if args.command == "start":
            result = start(config, args.timeout)
        elif args.command == "stop":
            result = stop(config)
        elif args.command == "health":
            result = {"changed": False, "healthy": healthy(config), "pid": running_pid(config)}
        elif args.command == "stats":
            result = {"changed": False, "stats": request(config, "/__sim__/stats")}
        elif args.command == "login":
            result = person_login(config, args.body)
        else:
            body = json.loads(args.body)
            answer = request(config, "/__sim__/fault", body=body if body else None)
            result = {"changed": bool(body), "faults": answer}
    print(json.dumps(result, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
