# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for esus.rnds.pec_certificate (documentation: the module of the same name).

Controller side: find and read ``src`` (ansible-vault decrypted in memory), open it with the
password and apply the policy (key present and matching, validity, CNPJ, ICP-Brasil) *before* any
remote call; then run the host module once, with the bytes in its (no_log) arguments.

Validation results are cached for the whole ansible-playbook run. Ansible forks one worker process
per host and task, so a plain module-level dict only helps inside one worker (a loop); the
results are therefore also kept as small JSON files in the run's private local temp folder (the
folder Ansible itself uses for its AnsiballZ cache, mode 0700, removed at the end of the run).
Those entries hold only non-secret certificate facts, and their names are an HMAC-SHA256 under a
random key generated when this plugin is imported by the ansible-playbook parent process: the
key is inherited by the forked workers, lives only in memory and is never written anywhere, so
nothing derived from the password can be read back from disk.

Between runs, a file that passed validation is remembered by the SHA-256 of its bytes
(``plugin_utils/_validation_store.py``): a later run reuses the facts only for the same bytes and a
password that verifies the file's MAC, instead of opening it again.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import stat
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.esus.rnds.plugins.module_utils._chaves import (
    CONTROLLER_ONLY_OPTIONS,
    TRANSFER_OPTIONS,
    certificate_argument_spec,
    check_certificate_name,
    check_dirname,
    parse_mode,
)
from ansible_collections.esus.rnds.plugins.module_utils._dates import validity
from ansible_collections.esus.rnds.plugins.module_utils._labels import option, render
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12 import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    WEAK_PASSWORD_WARNING,
    inspect_pkcs12,
    password_masks_facts,
)
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import MAX_PKCS12_BYTES, Pkcs12Error
from ansible_collections.esus.rnds.plugins.plugin_utils import _validation_store
from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction
from ansible_collections.esus.rnds.plugins.plugin_utils._ansible_compat import read_file_decrypted
from ansible_collections.esus.rnds.plugins.plugin_utils._certificate_inventory import ROLE as INVENTORY_ROLE
from ansible_collections.esus.rnds.plugins.plugin_utils._certificate_inventory import deploy_from_inventory
from ansible_collections.esus.rnds.plugins.plugin_utils._certificate_policy import evaluate
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import (
    HostValuesError,
    connection_is_powershell,
    from_action,
    options_from_host,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._windows_chaves import deploy_windows

MODULE_NAME = "esus.rnds.pec_certificate"
# With from_inventory: the options that, left out of the task, take the value of the variable option_labels names.
HOST_OPTIONS = ("owner", "group", "mode", "dir_mode", "backup", "prune", "min_days_remaining", "require_icp_brasil",
                "windows_service_account")
CACHE_DIRNAME = "esus_rnds_pkcs12_cache"
CACHE_VERSION = 1
# Anything bigger than a real A1 .pfx/.p12 can be is refused before it is read (an ansible-vault encrypted file is
# about twice as big on disk as its content).
MAX_CERTIFICATE_BYTES = MAX_PKCS12_BYTES
MAX_SOURCE_BYTES = 3 * MAX_CERTIFICATE_BYTES
# Facts returned to the playbook (never a secret).
PUBLIC_FACTS = ("subject", "issuer", "serial_number", "not_before", "not_after", "days_remaining", "expired",
                "not_yet_valid", "fingerprint_sha256", "cnpj", "cpf", "icp_brasil", "certificate_type",
                "has_private_key", "key_matches", "key_type", "key_size", "chain_length", "client_auth")

# Random key created when the plugin is first imported (in the ansible-playbook parent process,
# which imports action plugins to plan the run); forked workers inherit it. Never written anywhere.
_RUN_KEY = os.urandom(32)
# Per-process cache: digest -> (facts or error, content bytes)
_MEMORY_CACHE = {}


class CertificateRefused(Exception):
    """A certificate refused by the policy; ``message`` is pt-BR and safe to show (option placeholders unrendered)."""

    def __init__(self, message, facts=None, problems=None, warnings=None, origin=None):
        super(CertificateRefused, self).__init__(message)
        self.message = message
        self.facts = facts
        self.problems = problems
        self.warnings = warnings or []
        self.origin = origin


def refresh_validity(facts, now=None):
    """Recompute the time-dependent facts of a cached entry (days_remaining, expired, not_yet_valid)."""
    return dict(facts, **validity(facts.get("not_before"), facts.get("not_after"), now))


def _cache_key(real_path, st, password):
    material = b"\0".join([
        to_bytes(real_path, errors="surrogate_or_strict"),
        str(st.st_mtime_ns).encode(),
        str(st.st_size).encode(),
        hashlib.sha256(to_bytes(password or "", errors="surrogate_or_strict")).digest(),
        str(CACHE_VERSION).encode(),
    ])
    return hmac.new(_RUN_KEY, material, hashlib.sha256).hexdigest()


def _cache_dir():
    base = getattr(C, "DEFAULT_LOCAL_TMP", None)
    if not base or not os.path.isdir(base):
        return None
    return os.path.join(base, CACHE_DIRNAME)


def _disk_get(digest):
    directory = _cache_dir()
    if not directory:
        return None
    try:
        with open(os.path.join(directory, digest + ".json"), "r", encoding="utf-8") as handle:
            entry = json.load(handle)
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("v") == CACHE_VERSION else None


def _disk_put(digest, entry):
    directory = _cache_dir()
    if not directory:
        return
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".entry-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(dict(entry, v=CACHE_VERSION), handle)
        os.replace(tmp, os.path.join(directory, digest + ".json"))
    except OSError:
        pass  # the cache is an optimisation only


@contextlib.contextmanager
def _disk_lock(digest):
    """Serialise the validation of one (file, password) across the forked workers of the run."""
    directory = _cache_dir()
    handle = None
    if directory:
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            handle = open(os.path.join(directory, digest + ".lock"), "a")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except OSError:
            if handle is not None:
                handle.close()
            handle = None
    try:
        yield
    finally:
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


def _too_big_message(src, size):
    return ("o arquivo %s tem %.1f MiB: um certificado A1 (.pfx/.p12) tem poucos KiB e o limite é %d MiB; confira "
            "%s" % (src, size / 1048576.0, MAX_CERTIFICATE_BYTES // 1048576, option("src")))


def _public(facts):
    return dict((key, facts.get(key)) for key in PUBLIC_FACTS)


class ActionModule(CollectionAction):

    # The refusal other controller code catches (plugin_utils/_certificate_inventory.py).
    Refused = CertificateRefused

    def _read_source(self, src):
        """Find ``src`` like the copy action does; return (real path, os.stat result)."""
        try:
            real_path = self._find_needle("files", src)
        except AnsibleError:
            raise CertificateRefused("o arquivo de certificado %s não foi encontrado no controlador: confira %s (caminho "
                                     "relativo ao playbook ou à pasta files/ do papel)" % (src, option("src"))) from None
        real_path = os.path.realpath(real_path)
        try:
            st = os.stat(real_path)
        except (OSError, ValueError):
            raise CertificateRefused("o arquivo de certificado %s não foi encontrado no controlador: confira %s"
                                     % (src, option("src"))) from None
        # never open a FIFO, a device or a folder: opening a FIFO would block the run
        if not stat.S_ISREG(st.st_mode):
            raise CertificateRefused("%s não é um arquivo comum (é uma pasta, um FIFO ou um dispositivo): confira %s"
                                     % (src, option("src")))
        if st.st_size > MAX_SOURCE_BYTES:
            raise CertificateRefused(_too_big_message(src, st.st_size))
        return real_path, st

    def _load_bytes(self, real_path, src):
        """File bytes, ansible-vault decrypted in memory (the loader never writes a plain copy)."""
        try:
            data = read_file_decrypted(self._loader, real_path)
        except AnsibleFileNotFound:
            raise CertificateRefused("o arquivo de certificado %s não foi encontrado no controlador: confira %s"
                                     % (src, option("src"))) from None
        except AnsibleError as exc:
            text = to_text(exc)
            if "vault" in text.lower():
                raise CertificateRefused("o arquivo %s está cifrado com ansible-vault e não pôde ser decifrado: informe a "
                                         "senha do vault (--ask-vault-pass ou --vault-password-file) ou confira o vault-id"
                                         % src) from None
            raise CertificateRefused("não foi possível ler o arquivo %s no controlador: confira permissões e o caminho "
                                     "em %s" % (src, option("src"))) from None
        data = bytes(data)
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise CertificateRefused(_too_big_message(src, len(data)))
        return data

    def _validated(self, src, password):
        """Return (facts, content bytes, cache origin) for ``src``; raises CertificateRefused for unusable files."""
        real_path, st = self._read_source(src)
        digest = _cache_key(real_path, st, password)
        cached = _MEMORY_CACHE.get(digest)
        if cached is not None:
            entry, content = cached
            if "error" in entry:
                raise CertificateRefused(entry["error"])
            return refresh_validity(entry["facts"]), content, "memory"
        content = self._load_bytes(real_path, src)
        sha256 = hashlib.sha256(content).hexdigest()
        with _disk_lock(digest):
            entry = _disk_get(digest)
            if entry is not None and ("error" in entry or entry.get("sha256") == sha256):
                origin = "disk"
            else:
                entry, origin = _validation_store.lookup(content, password), "store"
                if entry is None:
                    entry, origin = self._inspect(content, password, sha256, os.path.basename(src)), "parsed"
                    _validation_store.remember(entry)
                _disk_put(digest, entry)
        _MEMORY_CACHE[digest] = (entry, content)
        if "error" in entry:
            raise CertificateRefused(entry["error"])
        return refresh_validity(entry["facts"]), content, origin

    @staticmethod
    def _inspect(content, password, sha256, label):
        if not HAS_CRYPTOGRAPHY:
            raise AnsibleActionFail("a biblioteca Python 'cryptography' é necessária no controlador para validar o "
                                    "certificado: instale-a (pip install cryptography). Erro: %s" % CRYPTOGRAPHY_IMPORT_ERROR)
        try:
            facts = inspect_pkcs12(content, password or None)
        except Pkcs12Error as exc:
            return {"error": "%s: %s" % (label, exc.message), "code": exc.code}
        facts = _public(facts)
        facts["sha256"] = sha256
        return {"facts": facts, "sha256": sha256}

    def act(self, result, task_vars):
        try:
            if boolean(self._task.args.get("from_inventory", False), strict=False):
                # the roles' way: the options the task leaves out come from the host's variables
                self._task.args = options_from_host(from_action(self, task_vars, INVENTORY_ROLE), self._task.args,
                                                    HOST_OPTIONS)
        except HostValuesError as exc:
            return dict(result, failed=True, msg=exc.message)
        try:
            dummy, args = self.validate_argument_spec(argument_spec=certificate_argument_spec())
        except AnsibleActionFail as exc:
            # re-raised without the task arguments attached (they hold the password)
            return dict(result, failed=True, msg=to_text(exc.message))
        labels = args["option_labels"]
        for key in TRANSFER_OPTIONS:
            if args.get(key) is not None:
                return dict(result, failed=True, msg=render("a opção %s é preenchida pela própria ação; use %s"
                                                            % (option(key), option("src")), labels))
        if args["from_inventory"]:
            # The certificates of every municipality of the host, from its inventory (the roles' way).
            result.update(deploy_from_inventory(self, args, task_vars))
            return result
        result.update(self.deploy_one(args, task_vars))
        return result

    @staticmethod
    def check_options(args, windows=False):
        """pt-BR message when the folder name or (Linux) the modes cannot be used, else None (nothing read yet)."""
        problem = check_dirname(args["chaves_dirname"])
        if problem is None and not windows:
            try:
                parse_mode(args["mode"], "o modo do arquivo (%s)" % option("mode"), allow_exec=False)
                parse_mode(args["dir_mode"], "o modo da pasta chaves (%s)" % option("dir_mode"))
            except ValueError as exc:
                problem = str(exc)
        return problem

    def check_certificate(self, args, src, passphrase, name, expected_cnpj):
        """Validate one source file on the controller against the policy of ``args``.

        Returns ``(name, facts, content, origin, warnings)``; raises CertificateRefused. Messages keep their option
        placeholders (the caller renders them with the task's option_labels).
        """
        if not src:
            raise CertificateRefused("informe %s: o caminho do arquivo .pfx/.p12 no controlador" % option("src"))
        name = name or os.path.basename(src)
        problem = check_certificate_name(name, "name")
        if problem is not None:
            raise CertificateRefused(problem)
        facts, content, origin = self._validated(src, passphrase)
        facts = dict(facts, name=name)
        # The policy (CNPJ against expected_cnpj included) is decided here, on the facts as read: never on a
        # value that Ansible masked because the password occurs inside it.
        errors, warnings = evaluate(facts, name, args["min_days_remaining"], expected_cnpj, args["require_icp_brasil"])
        if password_masks_facts(facts, passphrase):
            warnings.append(WEAK_PASSWORD_WARNING)
        if errors:
            raise CertificateRefused("; ".join(errors), facts=facts, problems=errors, origin=origin,
                                     warnings=[WEAK_PASSWORD_WARNING] if WEAK_PASSWORD_WARNING in warnings else [])
        return name, facts, content, origin, warnings

    def source_path(self, src):
        """The controller path ``src`` resolves to (as the copy action finds it)."""
        return self._read_source(src)[0]

    def run_host_module(self, args, name, content, facts, task_vars):
        """One module execution on a Linux host: write ``content`` as ``name`` in chaves."""
        module_args = dict((key, value) for key, value in args.items() if key not in CONTROLLER_ONLY_OPTIONS)
        module_args.update(name=name, content=to_text(base64.b64encode(content)), checksum=facts["sha256"])
        try:
            return self._execute_module(module_name=MODULE_NAME, module_args=module_args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def deploy_one(self, args, task_vars):
        """The module's own interface: one certificate from src/passphrase/name."""
        labels = args["option_labels"]
        windows = connection_is_powershell(self)
        problem = self.check_options(args, windows=windows)
        if problem is not None:
            return dict(failed=True, msg=render(problem, labels))
        try:
            name, facts, content, origin, warnings = self.check_certificate(
                args, args["src"], args["passphrase"], args["name"], args["expected_cnpj"])
        except CertificateRefused as exc:
            return refusal(exc, labels)
        result = dict(certificate=facts, validation_cache=origin)
        warnings = [render(warning, labels) for warning in warnings]
        if args["validate_only"]:
            result.update(changed=False, validated=True)
            if warnings:
                result["warnings"] = warnings
            return result

        if windows:
            deployed = deploy_windows(self, args, [dict(name=name, src=self.source_path(args["src"]), facts=facts,
                                                        content=content, origin=origin)], task_vars)
            module_result = dict(deployed["results"][0]) if deployed.get("results") else {}
            module_result.update((key, deployed[key]) for key in ("failed", "msg", "changed") if key in deployed)
        else:
            module_result = self.run_host_module(args, name, content, facts, task_vars)
        module_warnings = module_result.pop("warnings", None) or []
        result.update(module_result)
        result["certificate"] = facts
        result["validation_cache"] = origin
        all_warnings = list(warnings) + list(module_warnings)
        if all_warnings:
            result["warnings"] = all_warnings
        return result


def refusal(exc, labels):
    """The task result of a refused certificate (``exc``: CertificateRefused), messages rendered with ``labels``."""
    result = dict(failed=True, msg=render(exc.message, labels))
    if exc.facts is not None:
        result.update(certificate=exc.facts, validation_cache=exc.origin)
    if exc.problems:
        result["problems"] = [render(problem, labels) for problem in exc.problems]
    if exc.warnings:
        result["warnings"] = [render(warning, labels) for warning in exc.warnings]
    return result
