"""``OUT/index.html``: one page listing every client × period of a report folder.

Built from what is on disk (``OUT/<client>/<YYYY-MM>/manifest.json`` and
``kpis.json``), so it also lists reports of earlier runs into the same
``OUT``; results of the current run that left no folder (a worker that died,
a folder name refused) are added from the batch.  Example row::

    ACME S.A. de C.V. (acme) | 2025-03 | ok | open value MXN 1,234,568 | … | Report · Annex · KPIs · Notebook

Failures come first, each with its reason and — when one was written — a link
to the executed notebook that holds the error.  A failure that left nothing on
disk (a refused folder name, a dead worker, a bad period, a full disk) is
listed with its reason all the same: the page never depends on a link being
there.  Words come from the text catalog (``index.*``) in one language
(Spanish by default); money as in the report (``$1,234,568 MXN``).  Every string from client data goes through jinja's
autoescape (``<script>`` in a client name is shown, never run) and links are
percent-encoded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from immex_nb.fmt import format_value
from immex_nb.text import DEFAULT_LANG, check_lang, has, labels, t

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_PERIOD_DIR = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
#: how many headline KPIs the index shows per row
INDEX_KPIS = 5


@dataclass
class Entry:
    client: str
    period: str
    status: str
    reason: str = ""
    client_name: str = ""
    seconds: float | None = None
    kpis: list[dict] = field(default_factory=list)  # [{label, text, change}]
    links: dict[str, str] = field(default_factory=dict)  # report|annex|kpis|notebook → URL

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _short_change(value: object, previous: object, unit: str) -> str:
    """``+3.0%`` (money), ``+2`` (counts); empty when there is nothing to compare."""
    if not isinstance(value, int | float) or not isinstance(previous, int | float):
        return ""
    d = float(value) - float(previous)
    if abs(d) < 0.5:
        return "±0"
    if unit in ("count", "days") or previous == 0:
        return f"{d:+,.0f}"
    return f"{d / abs(float(previous)) * 100:+.1f}%"


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _entry_from_folder(folder: Path, lang: str) -> Entry | None:
    manifest = _read_json(folder / "manifest.json")
    if manifest is None:
        return None
    client, period = folder.parent.name, folder.name
    e = Entry(
        client=client,
        period=period,
        status=str(manifest.get("status", "failed")),
        reason=str(manifest.get("reason", "")),
        seconds=manifest.get("seconds"),
        client_name=client,
    )
    kp = _read_json(folder / "kpis.json") or {}
    e.client_name = str(kp.get("client_name") or client)
    for item in (kp.get("headline") or [])[:INDEX_KPIS]:
        if not isinstance(item, dict):
            continue
        unit = str(item.get("unit", ""))
        key = str(item.get("key", ""))
        label = (
            t(f"kpi_short.{key}", lang)
            if has(f"kpi_short.{key}")
            else str(item.get("short") or item.get("label") or key)
        )
        e.kpis.append(
            {
                "key": key,
                "label": label,
                "text": format_value(item.get("value"), unit, lang),
                "change": _short_change(item.get("value"), item.get("previous"), unit),
            }
        )
    base = f"{quote(client, safe='')}/{quote(period)}/"
    for kind, name in LINKS:
        if (folder / name).is_file():
            e.links[kind] = base + name
    return e


#: the files a report folder may hold, in the order the index links them
LINKS = (
    ("report", "report.html"),
    ("annex", "annex.xlsx"),
    ("kpis", "kpis.json"),
    ("notebook", "report.ipynb"),
)


def collect_entries(
    out: str | os.PathLike, results: Iterable = (), lang: str = DEFAULT_LANG
) -> list[Entry]:
    """Entries for every ``OUT/<client>/<period>`` with a manifest, corrected by
    this run's ``results`` (``TaskResult``-like objects: ``client``,
    ``period``, ``status``, ``reason``, ``seconds`` — any of them may be
    missing or ``None``)."""
    out = Path(out)
    entries: dict[tuple[str, str], Entry] = {}
    if out.is_dir():
        for client_dir in sorted(out.iterdir()):
            if (
                not client_dir.is_dir()
                or client_dir.name.startswith(".")
                or client_dir.is_symlink()
            ):
                continue
            for folder in sorted(client_dir.iterdir()):
                if folder.is_dir() and _PERIOD_DIR.fullmatch(folder.name):
                    e = _entry_from_folder(folder, lang)
                    if e is not None:
                        entries[(e.client, e.period)] = e
    for r in results:
        client = str(getattr(r, "client", "") or "?")
        period = str(getattr(r, "period", "") or "?")
        status = str(getattr(r, "status", "") or "failed")
        key = (client, period)
        have = entries.get(key)
        if have is None or (status != "ok" and have.ok):
            links = {}
            if have is not None and "notebook" in have.links:
                links["notebook"] = have.links["notebook"]
            entries[key] = Entry(
                client,
                period,
                status,
                str(getattr(r, "reason", "") or ""),
                client_name=client,
                seconds=getattr(r, "seconds", None),
                links=links,
            )
    return sorted(entries.values(), key=lambda e: (e.client_name.casefold(), e.client, e.period))


def _neg_period(period: str) -> int:
    """Sort key putting the latest period first (a period that is no
    ``YYYY-MM`` — a failed entry's — sorts last)."""
    from immex_nb.dates import Period
    from immex_nb.errors import ImmexError

    try:
        p = Period.parse(period)
    except ImmexError:
        return 0
    return -(p.year * 12 + p.month)


def render_index(entries: list[Entry], title: str | None = None, lang: str = DEFAULT_LANG) -> str:
    """The page, in ``lang``; never fails on an entry without links or reason."""
    import jinja2

    check_lang(lang)
    title = title or t("index.title", lang)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ok = [e for e in entries if e.ok]
    failed = [e for e in entries if not e.ok]
    periods = sorted({e.period for e in entries}, reverse=True)
    clients = sorted({e.client for e in entries})
    kpi_labels: list[str] = []
    for e in ok:
        for k in e.kpis:
            if k["label"] not in kpi_labels:
                kpi_labels.append(k["label"])
    kpi_labels = kpi_labels[:INDEX_KPIS]
    rows = []
    previous_client = None
    for e in sorted(
        entries, key=lambda e: (e.client_name.casefold(), e.client, _neg_period(e.period))
    ):
        by_label = {k["label"]: k for k in e.kpis}
        rows.append(
            {
                "e": e,
                "cells": [by_label.get(label) for label in kpi_labels],
                "first": e.client != previous_client,
            }
        )
        previous_client = e.client
    return env.get_template("index.html.j2").render(
        lang=lang,
        tx=labels("index", lang),
        link_labels={kind: t(f"index.link.{kind}", lang) for kind, _ in LINKS},
        title=title,
        rows=rows,
        failed=failed,
        n_ok=len(ok),
        n_total=len(entries),
        periods=periods,
        n_clients=len(clients),
        kpi_labels=kpi_labels,
        css=(TEMPLATES_DIR / "report.css").read_text(encoding="utf-8"),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_index(out: str | os.PathLike, results: Iterable = (), lang: str = DEFAULT_LANG) -> Path:
    """Write ``OUT/index.html`` (in ``lang``) atomically; return its path."""
    from immex_nb.outputs import write_text

    out = Path(out)
    page = render_index(collect_entries(out, results, lang), lang=lang)
    return write_text(out / "index.html", page)
