"""What a reader sees on a report page: its text and its figures' words.

``visible_words(page)`` returns the lower-cased words of

* every text node outside ``<script>``/``<style>``, leaving out elements
  marked ``translate="no"`` (the client's own data — names, part numbers,
  file names — is the same in every language);
* every plotly figure's title, axis titles, legend names, hover texts, bar
  texts, annotations and category labels (read from the ``Plotly.newPlot``
  calls of the page).

Used by the language tests: a Spanish page must hold no word that can only
be English and the other way round (``ONLY_EN`` / ``ONLY_ES``).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

#: words that can only be English in these pages
ONLY_EN = frozenset(
    [
        "the",
        "and",
        "with",
        "of",
        "from",
        "to",
        "in",
        "is",
        "are",
        "on",
        "this",
        "which",
        "value",
        "values",
        "expired",
        "lines",
        "import",
        "imports",
        "export",
        "exports",
        "due",
        "days",
        "month",
        "shortfalls",
        "exposure",
        "discharges",
        "discharged",
        "savings",
        "payable",
        "deferred",
        "ready",
        "failed",
        "left",
        "figures",
        "report",
        "reports",
        "without",
        "rows",
        "none",
        "update",
        "surcharges",
        "fines",
        "overdue",
        "file",
        "files",
        "date",
        "part",
        "status",
        "quantity",
        "destination",
        "machinery",
        "equipment",
        "inputs",
        "duty",
        "client",
        "previous",
        "change",
        "open",
        "time",
        "limit",
    ]
)
#: words that can only be Spanish in these pages
ONLY_ES = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "del",
        "de",
        "en",
        "por",
        "con",
        "sin",
        "que",
        "para",
        "vencido",
        "vencidos",
        "partidas",
        "partida",
        "saldo",
        "saldos",
        "importación",
        "importaciones",
        "exportación",
        "exportaciones",
        "días",
        "mes",
        "año",
        "valor",
        "fecha",
        "tipo",
        "hallazgos",
        "faltantes",
        "descargos",
        "descargo",
        "resumen",
        "reporte",
        "reportes",
        "cifras",
        "listo",
        "falló",
        "periodo",
        "diferido",
        "ahorros",
        "calidad",
        "archivo",
        "archivos",
        "renglones",
        "plazo",
        "vence",
        "exposición",
        "cliente",
        "mercancía",
        "ene",
        "abr",
        "ago",
        "dic",
    ]
)

_VOID = {"br", "img", "meta", "link", "input", "hr", "col", "source", "wbr", "area", "base"}
_WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+")
#: plotly keys whose strings a reader sees
_FIGURE_KEYS = {"text", "name", "hovertext", "hovertemplate", "ticktext", "x", "y", "labels"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)
        self.text: list[str] = []
        self.scripts: list[str] = []

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        a = dict(attrs)
        hidden = self._hidden() or tag in ("script", "style", "title") or a.get("translate") == "no"
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "script":
            self.scripts.append(data)
        elif not self._hidden():
            self.text.append(data)


def _strings(obj, key: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "title" and isinstance(v, dict):
                out += _strings(v.get("text", ""), "text")
            elif k == "title" and isinstance(v, str):
                out.append(v)
            elif k == "annotations":
                out += [a.get("text", "") for a in v if isinstance(a, dict)]
            elif k == "template":
                continue
            else:
                out += _strings(v, k)
    elif isinstance(obj, list):
        for v in obj:
            out += _strings(v, key)
    elif isinstance(obj, str) and key in _FIGURE_KEYS | {"text"}:
        out.append(obj)
    return out


def figure_texts(script: str) -> list[str]:
    """The words of every ``Plotly.newPlot(id, data, layout, config)`` in ``script``."""
    out: list[str] = []
    dec = json.JSONDecoder()
    pos = 0
    while (start := script.find("Plotly.newPlot(", pos)) >= 0:
        i = start + len("Plotly.newPlot(")
        args = []
        for _ in range(3):  # id, data, layout
            while script[i] in " \n\t,":
                i += 1
            value, i = dec.raw_decode(script, i)
            args.append(value)
        out += _strings(args[1]) + _strings(args[2])
        pos = i
    return out


def visible_words(page: str) -> set[str]:
    parser = _Text()
    parser.feed(page)
    texts = list(parser.text)
    for script in parser.scripts:
        texts += figure_texts(script)
    words: set[str] = set()
    for text in texts:
        text = re.sub(r"<[^>]+>", " ", text)  # <b>, <br> inside hover texts
        words.update(w.lower() for w in _WORD.findall(text))
    return words


def foreign_words(page: str, lang: str) -> set[str]:
    """Words of ``page`` that belong only to the other language."""
    return visible_words(page) & (ONLY_EN if lang == "es" else ONLY_ES)
