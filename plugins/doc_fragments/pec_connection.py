# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the modules that talk to the PEC HTTP API (pec_rnds, pec_rnds_info)."""

from __future__ import annotations


class ModuleDocFragment(object):

    # The argument spec of these options is _pec_api.connection_argument_spec().
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: int
    default: 30
  retries:
    description:
      - New attempts after a connection error or an HTTP 5xx answer, with exponential backoff (1 s, 2 s, 4 s...).
    type: int
    default: 3
  validate_certs:
    description:
      - Validate the PEC HTTPS certificate. Only relevant for C(https://) URLs.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificates that validate the PEC HTTPS certificate.
    type: path
  allow_insecure_http:
    description:
      - A plain C(http://) URL to another machine sends the admin and certificate passwords across the network in
        clear, so it is refused by default. Loopback (C(127.0.0.0/8), C(localhost), C([::1])) is always accepted.
      - V(true) accepts it on a trusted network, with a warning in the output (and in the audit report). Prefer HTTPS on
        the PEC and O(ca_path) (see the collection's C(docs/https-pec.md)).
    type: bool
    default: false
  api_contract:
    description:
      - The PEC API contract - the GraphQL operations of the Certificados tab, where to read each value in the answers
        and how to classify errors. The PEC does not publish them, so they are data, not code.
      - A contract shipped with the collection by name (V(modelo), the collection's model, implemented by its test
        simulator and NOT confirmed on a real PEC), a path on the controller to a YAML/JSON contract file (a relative
        path is looked up from the current directory, then from the playbook directory), or the contract itself as a
        dict.
      - Loaded and checked on the controller by the action plugin; the PEC server receives the parsed contract.
      - How to write one from a browser capture of your PEC - C(docs/pec-api.md) and
        C(playbooks/pec_contract_from_har.yml).
    type: raw
    default: modelo
  force_login:
    description:
      - The PEC allows one session per user. When the admin user already has a session open (a person using the PEC),
        the login fails with V(already_logged_in) and nothing is done, by default.
      - V(true) logs in anyway and ENDS that person's session (the PEC's C(force) login). A warning says so. Never used
        in check mode.
    type: bool
    default: false
  retry_refused_login:
    description:
      - The PEC locks an account after a few failed logins. When it refuses a password, the action plugin remembers it on
        the controller (an HMAC of host, URL, CPF and password, never the password, in C(~/.ansible/esus.rnds) or
        C($ESUS_RNDS_STATE_DIR), for 30 days) and later runs do not try that same password again - the municipality
        fails at once with V(login_refused). A changed password is tried normally.
      - V(true) forgets the refusal and tries again, for a password reset to the same value.
    type: bool
    default: false
  refused_logins:
    description:
      - Internal, set by the action plugin from the controller's memory of refused logins (C(cpf), C(at)). Do not set.
    type: list
    elements: dict
    default: []
"""
