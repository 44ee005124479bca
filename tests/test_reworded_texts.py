"""Sentences written in English and said again in the reader's language
(immex_nb.text.reword; docs/rules/validation.md, docs/rules/datastage.md):
reject reasons (``reject.*``), Data Stage findings (``ds_finding.*``) and
compulsa details (``compulsa_detail.*``).  Each has the same fields in both
languages, differs between them, and comes back from its English exactly."""

from __future__ import annotations

import pytest
from conftest import text_fields as _fields

from immex_nb.text import catalog, reword, t

PREFIXES = ("reject.", "ds_finding.", "compulsa_detail.")
KEYS = sorted(k for k in catalog() if k.startswith(PREFIXES))


def test_every_family_has_sentences():
    assert {p for p in PREFIXES if any(k.startswith(p) for k in KEYS)} == set(PREFIXES)


@pytest.mark.parametrize("key", KEYS)
def test_same_fields_in_both_languages_and_said_again_from_the_english(key):
    prefix = next(p for p in PREFIXES if key.startswith(p))
    texts = catalog()[key]
    assert _fields(texts["es"]) == _fields(texts["en"]), key
    assert texts["es"] != texts["en"]
    values = {f: f"«{f}-1»" for f in _fields(texts["en"])}
    english = t(key, "en", **values)
    assert reword(english, "en", prefix=prefix) == english
    assert reword(english, "es", prefix=prefix) == t(key, "es", **values)
