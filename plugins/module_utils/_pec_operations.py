# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): the operations of the PEC's Certificados tab.

List the files of ``chaves``, read a municipality's certificate and services, Habilitar,
Desabilitar, read the contra-chave, read the PEC version. The PEC does NOT publish them: every
document, variable and result path comes from the replaceable contract (``_pec_contract``),
never from code. An operation the contract lacks, or an answer without the contract's result
path, is ``contract_mismatch``: the modules turn it into "habilitação manual pendente".

:class:`CertificateOperations` is mixed into ``_pec_api.PecSession``, which provides the logged-in
GraphQL call (``_graphql``), ``url``, ``contract`` and ``version``.

Python standard library only (runs on PEC servers), Python >= 3.6 syntax.
"""

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import fill, map_fields
from ansible_collections.esus.rnds.plugins.module_utils._pec_http import PecApiError, label

# Contract operations that change the PEC: never sent twice once they may have reached it (an HTTP
# 5xx or a dropped connection after sending may come after the PEC applied the change); the
# caller reads the state back instead.
MUTATIONS = ("enable", "disable")
STATE_KEYS = ("certificate", "requester_id", "enabled_at", "not_after", "fingerprint_sha256", "file_sha256")


class CertificateOperations(object):
    """The Certificados tab, as the contract describes it, on the selected access's municipality."""

    url = None
    contract = None
    version = None

    def has(self, key):
        return key in (self.contract.get("operations") or {})

    def list_files(self):
        result = self._contract_call("list_files", {})
        op = self.contract["operations"]["list_files"]
        if not isinstance(result, list):
            return []
        return [map_fields(item, op["fields"]) for item in result if isinstance(item, dict)]

    def read_state(self):
        return self._state("read_state", self._contract_call("read_state", {}))

    def enable(self, certificate, password, requester_id, services):
        values = {"certificate": certificate, "password": password, "requester_id": requester_id or None,
                  "services": self._pec_services(services)}
        return self._state("enable", self._contract_call("enable", values))

    def disable(self, services):
        return self._state("disable", self._contract_call("disable", {"services": self._pec_services(services)}))

    def contra_chave(self):
        value = self._contract_call("contra_chave", {})
        return value if isinstance(value, str) else None

    def read_version(self):
        """Optional, without login. None when the contract or the PEC has no such query."""
        if not self.has("version"):
            return None
        try:
            value = self._contract_call("version", {}, relogin=False)
        except PecApiError as exc:
            if exc.code in ("contract_mismatch", "session_expired", "forbidden", "pec_error"):
                return None
            raise
        self.version = value if isinstance(value, str) else None
        return self.version

    def _pec_services(self, services):
        mapping = self.contract["services"]
        unknown = [s for s in services if s not in mapping]
        if unknown:
            raise PecApiError(
                "invalid_input",
                "serviço %s desconhecido no contrato %s (conhecidos: %s)"
                % (", ".join(map(str, unknown)), self.contract.get("name"), ", ".join(sorted(mapping))),
                url=self.url,
            )
        return [mapping[s] for s in services]

    def _state(self, key, raw):
        op = self.contract["operations"][key]
        state = map_fields(raw, op["fields"])
        reverse = dict((v, k) for k, v in self.contract["services"].items())
        services = state.get("services")
        if isinstance(services, list):
            state["services"] = sorted(set(reverse.get(s, str(s).lower()) for s in services))
        elif "services" in op["fields"]:
            state["services"] = []
        if not state.get("certificate"):
            state["services"] = []
        state["enabled"] = bool(state.get("certificate")) and bool(state.get("services"))
        for known in STATE_KEYS:
            state.setdefault(known, None)
        if state.get("fingerprint_sha256"):
            state["fingerprint_sha256"] = str(state["fingerprint_sha256"]).replace(":", "").lower()
        return state

    def _contract_call(self, key, values, relogin=True):
        op = self.contract["operations"].get(key)
        if op is None:
            raise PecApiError(
                "contract_mismatch",
                "o contrato %s não descreve a %s" % (self.contract.get("name"), label(key)),
                url=self.url, operation=key,
            )
        variables = fill(op.get("variables") or {}, values)
        data = self._graphql(key, op["document"], variables, relogin=relogin, once=key in MUTATIONS)
        value = data
        for step in op["result"].split("."):
            if not isinstance(value, dict) or step not in value:
                # GraphQL answers every field it was asked (null or a value): an absent one means the
                # contract's result path does not match its own document, or the PEC answered something
                # else. Never read that as "nothing enabled".
                raise PecApiError(
                    "contract_mismatch",
                    "a resposta do PEC em %s à %s não tem o campo %s indicado em result no contrato %s: ajuste o "
                    "contrato (docs/pec-api.md)" % (self.url, label(key), op["result"], self.contract.get("name")),
                    url=self.url, operation=key,
                )
            value = value[step]
        return value

    def _graphql(self, key, document, variables, login=False, relogin=True, once=False):
        raise NotImplementedError  # provided by the session (_pec_api.PecSession)
