# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
module: pec_info
short_description: Read facts about a PEC e-SUS APS installation (Linux)
version_added: 0.1.0
description:
  - Read-only facts about a PEC e-SUS APS installation on a Linux server, with the Python standard
    library only.
  - Reads C(webserver/config/application.properties) for the port and HTTPS settings (only
    the keys documented below are returned; passwords in that file are never read out).
  - Asks systemd for the state of the C(e-SUS-PEC) service when C(systemctl) exists; otherwise the
    state is C(unknown). It never fails because of the service.
  - Lists the C(chaves) folder (owner, group, mode, size, SHA-256 and kind of each file), flags
    anything readable by every user of the server, and reports sibling folders whose name differs
    only in case (for example C(Chaves) next to C(chaves)).
  - The PEC version is read on a best-effort basis from version files, C(application.properties)
    or the C(Implementation-Version) of the jars in C(webserver).
author:
  - esus.rnds maintainers (!UNKNOWN)
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.info_module
  - esus.rnds.attributes.platform
  - esus.rnds.option_labels
attributes:
  platform:
    support: full
    platforms: posix
options:
  install_dir:
    description: PEC installation folder.
    type: path
    default: /opt/e-SUS
  chaves_dirname:
    description: Name of the certificate folder inside C(<install_dir>/webserver).
    type: str
    default: chaves
  service_name:
    description: Name of the systemd unit of the PEC.
    type: str
    default: e-SUS-PEC
  checksum:
    description: Compute the SHA-256 of each file in C(chaves).
    type: bool
    default: true
seealso:
  - module: esus.rnds.pec_certificate
  - module: esus.rnds.pec_rnds_info
"""

EXAMPLES = r"""
- name: Read the PEC installation facts
  esus.rnds.pec_info:
  register: pec

- name: Fail when the certificate folder is readable by everyone
  ansible.builtin.assert:
    that: not pec.chaves.world_accessible
    fail_msg: "A pasta {{ pec.chaves.path }} está acessível a todos os usuários"
"""

RETURN = r"""
install_dir:
  description: The installation folder inspected.
  returned: always
  type: str
  sample: /opt/e-SUS
exists:
  description: Whether O(install_dir) exists and is a folder.
  returned: always
  type: bool
os_family:
  description: Always C(linux) for this module.
  returned: always
  type: str
  sample: linux
version:
  description: PEC version, best effort, or null when no source was found.
  returned: always
  type: str
  sample: 5.3.19
version_source:
  description: File the version was read from, or null.
  returned: always
  type: str
  sample: /opt/e-SUS/webserver/VERSION
service:
  description: State of the PEC service.
  returned: always
  type: dict
  contains:
    name:
      description: Unit name.
      type: str
      sample: e-SUS-PEC
    state:
      description: C(running), C(stopped) or C(unknown) (no systemd, or systemd could not tell).
      type: str
      sample: running
    active_state:
      description: The raw answer of C(systemctl is-active), or null when it was not asked.
      type: str
      sample: active
application_properties:
  description: Path of C(application.properties) and whether it exists.
  returned: always
  type: dict
  contains:
    path:
      description: Full path.
      type: str
    exists:
      description: Whether the file exists and could be read.
      type: bool
port:
  description: HTTP(S) port of the PEC (C(server.port), default 8080).
  returned: always
  type: int
  sample: 8080
https:
  description:
    - Whether the PEC serves HTTPS (C(server.ssl.enabled), or else a C(server.ssl.key-store) or
      C(server.ssl.certificate)).
  returned: always
  type: bool
url:
  description: Local URL of the PEC built from the above (C(server.address) when set to a specific address, else 127.0.0.1).
  returned: always
  type: str
  sample: http://127.0.0.1:8080
ssl:
  description: Non-secret HTTPS settings.
  returned: always
  type: dict
  contains:
    enabled:
      description: Value of C(server.ssl.enabled), or null.
      type: bool
    key_store:
      description: Value of C(server.ssl.key-store), or null.
      type: str
    key_store_type:
      description: Value of C(server.ssl.key-store-type), or null.
      type: str
    certificate:
      description: Value of C(server.ssl.certificate) (PEM certificate path), or null.
      type: str
chaves:
  description: The certificate folder.
  returned: always
  type: dict
  contains:
    path:
      description: Full path.
      type: str
    exists:
      description: Whether something exists at that path.
      type: bool
    is_dir:
      description: Whether it is a folder (following a symbolic link, as the PEC would).
      type: bool
    is_symlink:
      description: Whether it is a symbolic link.
      type: bool
    owner:
      description: Owner name (or uid when unknown).
      type: str
    group:
      description: Group name (or gid when unknown).
      type: str
    mode:
      description: Mode as an octal string.
      type: str
      sample: '0750'
    world_accessible:
      description: Whether "others" have any permission on the folder.
      type: bool
    files:
      description: One entry per entry of the folder (not following links).
      type: list
      elements: dict
      contains:
        name:
          description: File name.
          type: str
        size:
          description: Size in bytes.
          type: int
        mode:
          description: Mode as an octal string.
          type: str
        owner:
          description: Owner name.
          type: str
        group:
          description: Group name.
          type: str
        sha256:
          description: SHA-256 of a regular file (null for links, folders, or when O(checksum=false)).
          type: str
        kind:
          description: C(pkcs12) (.pfx/.p12), C(cer) (.cer/.crt/.der/.pem, certificate only) or C(other).
          type: str
        world_readable:
          description: Whether every user of the server can read it.
          type: bool
        is_symlink:
          description: Whether the entry is a symbolic link.
          type: bool
        is_dir:
          description: Whether the entry is a folder.
          type: bool
chaves_variants:
  description: Sibling folders of C(chaves) whose names differ only in case.
  returned: always
  type: list
  elements: str
  sample: [Chaves]
problems:
  description:
    - Findings in Portuguese for the operator (world-readable key, C(.cer) files, case variants, ...), each
      saying what is wrong and what to do.
    - The same sentences the fleet report (M(esus.rnds.rnds_report)) shows for these codes; the collection's
      C(docs/report.md) lists them.
  returned: always
  type: list
  elements: str
problem_details:
  description: The findings of RV(problems), in the same order, with their code and parameters.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description:
        - Problem code, one of C(pec_not_installed), C(chaves_missing), C(chaves_not_dir), C(chaves_symlink),
          C(chaves_world_accessible), C(file_world_readable), C(cer_file), C(no_certificate_file),
          C(chaves_case_variant).
      type: str
      sample: chaves_world_accessible
    severity:
      description: C(error) or C(warning), as in the fleet report.
      type: str
      sample: error
    message:
      description: The sentence of RV(problems) for this finding.
      type: str
    params:
      description: The values put in the message (paths, file names, modes).
      type: dict
      sample: {"path": "/opt/e-SUS/webserver/chaves", "dirname": "chaves", "mode": "0777"}
"""

import glob
import os
import re
import zipfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.esus.rnds.plugins.module_utils._chaves import chaves_facts
from ansible_collections.esus.rnds.plugins.module_utils._install_checks import check, details
from ansible_collections.esus.rnds.plugins.module_utils._labels import OPTION_LABELS_SPEC

_VERSION_FILES = ("webserver/VERSION", "webserver/version.txt", "webserver/version", "VERSION", "version.txt")
_VERSION_KEYS = ("pec.version", "info.app.version", "app.version", "esus.version", "application.version")
_VERSION_RE = re.compile(r"\d+\.\d+(?:\.\d+)*(?:[-.][0-9A-Za-z]+)*")
_SERVICE_STATES = {"active": "running", "reloading": "running", "inactive": "stopped",
                   "failed": "stopped", "deactivating": "stopped"}


def read_properties(path):
    """Parse a Java .properties file (key=value, key: value, key value; continuation lines)."""
    props = {}
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    pending = ""
    for raw in lines:
        line = pending + raw.lstrip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#!":
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending = line[:-1]
            continue
        match = re.match(r"((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$", line)
        if match:
            key, value = match.group(1), match.group(2)
        else:
            key, value = line, ""
        props[key.replace("\\", "")] = value.strip()
    if pending:
        match = re.match(r"((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$", pending)
        if match:
            props[match.group(1)] = match.group(2).strip()
    return props


def _bool(value):
    if value is None:
        return None
    return str(value).strip().lower() in ("true", "yes", "1", "on")


def _first_line(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                match = _VERSION_RE.search(line)
                if match:
                    return match.group(0)
    except OSError:
        return None
    return None


def _jar_version(path):
    try:
        with zipfile.ZipFile(path) as jar:
            manifest = jar.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    for line in manifest.splitlines():
        if line.lower().startswith("implementation-version:"):
            match = _VERSION_RE.search(line.split(":", 1)[1])
            if match:
                return match.group(0)
    return None


def find_version(install_dir, props):
    for rel in _VERSION_FILES:
        path = os.path.join(install_dir, rel)
        if os.path.isfile(path):
            version = _first_line(path)
            if version:
                return version, path
    for key in _VERSION_KEYS:
        match = _VERSION_RE.search(props.get(key) or "")
        if match:
            return match.group(0), os.path.join(install_dir, "webserver", "config", "application.properties")
    for path in sorted(glob.glob(os.path.join(install_dir, "webserver", "*.jar"))):
        version = _jar_version(path)
        if version:
            return version, path
    return None, None


def service_state(module, name):
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return {"name": name, "state": "unknown", "active_state": None}
    try:
        dummy, out, dummy2 = module.run_command([systemctl, "is-active", name])
    except Exception:  # never fail because of the service manager
        return {"name": name, "state": "unknown", "active_state": None}
    answer = (out or "").strip().splitlines()
    active = answer[0].strip() if answer else ""
    return {"name": name, "state": _SERVICE_STATES.get(active, "unknown"), "active_state": active or None}


def gather(module):
    params = module.params
    install_dir = params["install_dir"]
    result = dict(changed=False, install_dir=install_dir, exists=os.path.isdir(install_dir), os_family="linux")
    props_path = os.path.join(install_dir, "webserver", "config", "application.properties")
    props = {}
    try:
        props = read_properties(props_path)
        props_ok = True
    except OSError:
        props_ok = False
    result["application_properties"] = {"path": props_path, "exists": props_ok}

    port_text = props.get("server.port", "")
    port = int(port_text) if port_text.isdigit() else 8080
    ssl_enabled = _bool(props.get("server.ssl.enabled"))
    key_store = props.get("server.ssl.key-store") or None
    pem_certificate = props.get("server.ssl.certificate") or None
    https = bool(ssl_enabled) if ssl_enabled is not None else bool(key_store or pem_certificate)
    address = props.get("server.address", "").strip()
    host = address if address and address not in ("0.0.0.0", "::", "[::]") else "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    result.update(
        port=port,
        https=https,
        url="%s://%s:%d" % ("https" if https else "http", host, port),
        ssl={"enabled": ssl_enabled, "key_store": key_store, "key_store_type": props.get("server.ssl.key-store-type") or None,
             "certificate": pem_certificate},
    )
    result["version"], result["version_source"] = find_version(install_dir, props) if result["exists"] else (None, None)
    result["service"] = service_state(module, params["service_name"])

    chaves, variants = chaves_facts(install_dir, params["chaves_dirname"], checksum=params["checksum"])
    result["chaves"] = chaves
    result["chaves_variants"] = variants
    found = check(result)
    result["problem_details"] = details(found, params["option_labels"])
    result["problems"] = [problem["message"] for problem in result["problem_details"]]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            install_dir=dict(type="path", default="/opt/e-SUS"),
            chaves_dirname=dict(type="str", default="chaves"),
            service_name=dict(type="str", default="e-SUS-PEC"),
            checksum=dict(type="bool", default=True),
            option_labels=OPTION_LABELS_SPEC,
        ),
        supports_check_mode=True,
    )
    module.exit_json(**gather(module))


if __name__ == "__main__":
    main()
