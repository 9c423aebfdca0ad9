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
"""
