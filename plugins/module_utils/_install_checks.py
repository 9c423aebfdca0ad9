# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Checks of a PEC installation and its ``chaves`` folder, with their words: written once.

``check()`` reads a ``pec_info`` result and returns ``(code, parameters)`` pairs; ``PROBLEMS``
holds the severity and the Portuguese words of each code. The ``pec_info`` module (on the PEC
server) renders them into its ``problems``; the fleet report (on the controller) runs the same
check on the same result and takes these rows into its registry. Standard library only, Python >= 3.6.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.esus.rnds.plugins.module_utils._chaves import kind_of
from ansible_collections.esus.rnds.plugins.module_utils._labels import option
from ansible_collections.esus.rnds.plugins.module_utils._problems import ERROR, WARNING, Problem, table

__metaclass__ = type

_CERTIFICATE_ROLE = "esus.rnds.certificate"

PROBLEMS = table(
    Problem("pec_not_installed", ERROR,
            "A pasta de instalação do PEC %(install_dir)s não existe: o PEC não foi encontrado.",
            "Confira " + option("install_dir") + " ou instale o PEC neste servidor."),
    Problem("chaves_symlink", ERROR,
            "A pasta %(path)s é um link simbólico: o PEC pode não encontrar os certificados e as permissões não "
            "podem ser garantidas.",
            "Substitua o link por uma pasta real (dono: usuário do serviço do PEC, modo 0750) com os arquivos "
            ".pfx/.p12."),
    Problem("chaves_missing", ERROR,
            "A pasta de certificados %(path)s não existe.",
            "Crie-a e coloque nela o arquivo .pfx/.p12 do município com o papel " + _CERTIFICATE_ROLE
            + " (playbooks/site.yml)."),
    Problem("chaves_not_dir", ERROR,
            "O caminho %(path)s existe mas não é uma pasta.",
            "Renomeie ou remova esse arquivo e crie a pasta %(dirname)s com o papel " + _CERTIFICATE_ROLE + "."),
    Problem("chaves_world_accessible", ERROR,
            "A pasta %(path)s está acessível a todos os usuários do servidor (modo %(mode)s) e guarda as chaves "
            "privadas dos certificados.",
            "Restrinja o acesso com chmod 0750 %(path)s (dono: usuário do serviço do PEC) ou rode o papel "
            + _CERTIFICATE_ROLE + "."),
    Problem("file_world_readable", ERROR,
            "O arquivo %(name)s na pasta %(dirname)s pode ser lido por todos os usuários do servidor (modo %(mode)s) "
            "e pode conter a chave privada de um certificado.",
            "Corrija com chmod 0640 %(path)s/%(name)s."),
    Problem("cer_file", WARNING,
            "O arquivo %(name)s na pasta %(dirname)s é um certificado sem a chave privada (.cer): o PEC não consegue "
            "usá-lo.",
            "Use o arquivo .pfx/.p12 (com senha) recebido com o certificado e remova o %(name)s da pasta."),
    Problem("no_certificate_file", ERROR,
            "A pasta %(path)s não tem nenhum arquivo .pfx/.p12: o PEC não tem certificado para habilitar o RNDS.",
            "Implante o certificado do município com o papel " + _CERTIFICATE_ROLE + " (playbooks/site.yml)."),
    Problem("chaves_case_variant", WARNING,
            "Existe também a pasta %(variant)s ao lado de %(dirname)s (diferença só de maiúsculas/minúsculas): no "
            "Linux o PEC lê apenas %(dirname)s.",
            "Mova os certificados para %(dirname)s e remova %(variant)s para evitar confusão."),
)


def _text(value):
    return "" if value is None else str(value).strip()


def folder_names(chaves):
    """Parameters naming the folder in messages: ``path`` (full) and ``dirname`` (last component)."""
    path = _text((chaves or {}).get("path")) or "webserver/chaves"
    return {"path": path, "dirname": path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "chaves"}


def file_kind(entry):
    """``pkcs12``, ``cer`` or ``other`` for one entry of ``chaves.files`` (its ``kind``, else by name)."""
    return entry.get("kind") or kind_of(_text(entry.get("name")))


def check(facts, expects_file=False):
    """The problems of one ``pec_info`` result: a list of ``(code, parameters)`` in a stable order.

    ``expects_file``: the caller knows which certificate file must be in the folder and checks that
    itself, so an empty folder is not reported here (``no_certificate_file``).
    """
    if facts.get("exists") is False:
        return [("pec_not_installed", {"install_dir": _text(facts.get("install_dir")) or "(pasta de instalação)"})]
    chaves = facts.get("chaves") or {}
    where = folder_names(chaves)
    found = []
    if chaves.get("is_symlink"):
        found.append(("chaves_symlink", where))
    if not chaves.get("exists"):
        found.append(("chaves_missing", where))
    elif chaves.get("is_dir") is False:
        found.append(("chaves_not_dir", where))
    else:
        found.extend(_folder(chaves, where, expects_file))
    for variant in facts.get("chaves_variants") or []:
        found.append(("chaves_case_variant", dict(where, variant=_text(variant))))
    return found


def _folder(chaves, where, expects_file):
    """Access to the folder and to each file in it, .cer files, and a folder without any .pfx/.p12."""
    found = []
    if chaves.get("world_accessible"):
        found.append(("chaves_world_accessible", dict(where, mode=_text(chaves.get("mode")) or "?")))
    entries = [entry for entry in chaves.get("files") or [] if isinstance(entry, dict)]
    for entry in entries:
        params = dict(where, name=_text(entry.get("name")), mode=_text(entry.get("mode")) or "?")
        kind = file_kind(entry)
        if entry.get("world_readable") and kind != "cer" and not entry.get("is_dir"):
            found.append(("file_world_readable", params))
        if kind == "cer":
            found.append(("cer_file", params))
    if not expects_file and not any(file_kind(entry) == "pkcs12" for entry in entries):
        found.append(("no_certificate_file", where))
    return found


def details(found, labels=None):
    """``check()`` pairs -> ``problem_details`` entries (code, severity, message, params)."""
    return [{"code": code, "severity": PROBLEMS[code].severity, "message": PROBLEMS[code].words(params, labels),
             "params": dict(params)} for code, params in found]
