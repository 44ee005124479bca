"""Words, in one place: every label, heading, badge, bucket, status and sentence
a reader sees, in Spanish and English.

The texts live in CSV files under ``immex_nb/data/text/`` (``key,es,en``; one
file per area — ``common.csv``, ``report.csv``, ``figures.csv``,
``annex.csv`` …; a key is defined once across all files).  Code never writes
``if lang == "es"``: it asks for a key in a language::

    >>> from immex_nb.text import t
    >>> t("status.expired", "es")          # doctest: +SKIP
    'Vencido'
    >>> t("kpi.open_value", "en")          # doctest: +SKIP
    'Open value (MXN)'

Sentences take ``str.format`` fields: ``t("summary.open", "es", n=3)``.
A sentence already written in English from a key (a reject reason in
rejects.csv) is said again in another language by :func:`reword`.
Spanish is the default language (docs/report.md): ``resolve_lang`` picks the
command-line value, else the client's ``language`` setting, else ``es``.

Imports nothing from the rest of the package but :mod:`immex_nb.errors`.
"""

from __future__ import annotations

import csv
import re
import string
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

from immex_nb.errors import ImmexError

#: Languages a reader can ask for; the first is the default.
LANGS = ("es", "en")
DEFAULT_LANG = LANGS[0]


def check_lang(lang: str) -> str:
    """``lang`` if supported, else a one-line :class:`ImmexError`."""
    if lang not in LANGS:
        raise ImmexError(f"language {lang!r} is not supported; use one of {list(LANGS)}")
    return lang


def resolve_lang(*choices: str | None) -> str:
    """The first language given (command line, client setting, firm setting…), else ``es``."""
    for choice in choices:
        if choice:
            return check_lang(str(choice).strip().lower())
    return DEFAULT_LANG


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """``{key: {"es": …, "en": …}}`` from every CSV under ``immex_nb/data/text``."""
    out: dict[str, dict[str, str]] = {}
    folder = resources.files("immex_nb") / "data" / "text"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".csv"):
            continue
        with entry.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                key = row["key"].strip()
                if not key or key.startswith("#"):
                    continue
                if key in out:
                    raise ImmexError(f"text key {key!r} is defined twice ({entry.name})")
                out[key] = {lang: row[lang] for lang in LANGS}
    return out


def t(key: str, lang: str = DEFAULT_LANG, /, **values) -> str:
    """The text of ``key`` in ``lang``, with ``values`` filled in."""
    try:
        text = catalog()[key][check_lang(lang)]
    except KeyError:
        raise KeyError(f"no text for key {key!r}; add it to immex_nb/data/text/*.csv") from None
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in catalog()


def labels(prefix: str, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Every key under ``prefix.`` → its text, keyed by the rest of the key.

    ``labels("status", "es")`` → ``{"expired": "Vencido", "in_time": "En plazo", …}``.
    """
    dot = prefix + "."
    return {k[len(dot) :]: v[check_lang(lang)] for k, v in catalog().items() if k.startswith(dot)}


@lru_cache(maxsize=8)
def _patterns(prefix: str | tuple[str, ...]) -> list[tuple[str, re.Pattern]]:
    """The English text of every key under ``prefix`` (or any of several) as a pattern whose
    groups are its fields, the most specific (most fixed words) first."""
    found = []
    for key, texts in catalog().items():
        if not key.startswith(prefix):
            continue
        parts, fixed = [], 0
        for literal, field, _, _ in string.Formatter().parse(texts["en"]):
            parts.append(re.escape(literal))
            fixed += len(literal)
            if field is not None:
                parts.append(f"(?P<{field}>.+?)")
        found.append((fixed, key, re.compile("".join(parts), re.DOTALL)))
    return [(key, pattern) for _, key, pattern in sorted(found, key=lambda f: -f[0])]


def reword(
    text: str,
    lang: str = DEFAULT_LANG,
    /,
    prefix: str | tuple[str, ...] = "reject.",
    values: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """``text`` — made from the English of a key under ``prefix`` — said in
    ``lang``, its fields carried over (``values``: per field, English value →
    the value to show instead).  A text made from no such key is returned as
    it is.  The loader writes its reject reasons in English (rejects.csv); a
    Spanish report shows them in Spanish::

        >>> reword("quantity must be greater than 0, got -5", "es")   # doctest: +SKIP
        'quantity debe ser mayor que 0; se recibió -5'
    """
    if check_lang(lang) == "en" or not isinstance(text, str):
        return text
    for key, pattern in _patterns(prefix):
        found = pattern.fullmatch(text)
        if found:
            fields = found.groupdict()
            for name, mapping in (values or {}).items():
                if name in fields:
                    fields[name] = mapping.get(fields[name], fields[name])
            return t(key, lang, **fields)
    return text


def reword_column(
    texts,
    lang: str = DEFAULT_LANG,
    /,
    prefix: str | tuple[str, ...] = "reject.",
    values: Mapping[str, Mapping[str, str]] | None = None,
):
    """A table's column of such texts (a pandas Series) said in ``lang``:
    :func:`reword` once per distinct text; anything but a text as it is."""
    if check_lang(lang) == "en":
        return texts
    said: dict[str, str] = {}

    def one(text):
        if not isinstance(text, str):
            return text
        if text not in said:
            said[text] = reword(text, lang, prefix=prefix, values=values)
        return said[text]

    return texts.map(one)
