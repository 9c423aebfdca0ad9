# -*- coding: utf-8 -*-
"""_labels: module messages name module options; a role relabels them."""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.module_utils import _labels


def test_unlabelled_option_keeps_its_name():
    assert _labels.render("ajuste %s" % _labels.option("name")) == "ajuste name"


def test_role_label_replaces_the_option_name():
    text = "a senha (%s) não abre o arquivo" % _labels.option("password")
    rendered = _labels.render(text, {"password": "rnds_certificate_password"})
    assert rendered == "a senha (rnds_certificate_password) não abre o arquivo"


def test_empty_or_odd_labels_fall_back_to_the_option():
    text = _labels.option("owner") + " e " + _labels.option("group")
    assert _labels.render(text, {"owner": "", "group": 3}) == "owner e group"


def test_text_without_placeholder_and_non_text_pass_through():
    assert _labels.render("nada a trocar {option:}", {"x": "y"}) == "nada a trocar {option:}"
    assert _labels.render(None) is None
