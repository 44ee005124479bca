"""``OUT/index.html``: one page listing every client × period of a report folder.

Built from what is on disk (``OUT/<client>/<YYYY-MM>/manifest.json`` and
``kpis.json``), so it also lists reports of earlier runs into the same
``OUT``; results of the current run that left no folder (a worker that died,
a folder name refused) are added from the batch.  Example row::

    ACME S.A. de C.V. (acme) | 2025-03 | ok | open value MXN 1,234,568 | … | Report · Annex · KPIs · Notebook

Failures come first, each with its reason and a link to the executed notebook
that holds the error.  Every string from client data goes through jinja's
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
    links: dict[str, str] = field(default_factory=dict)  # label → relative URL

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


def _entry_from_folder(folder: Path) -> Entry | None:
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
        e.kpis.append(
            {
                "key": str(item.get("key", "")),
                "label": str(item.get("short") or item.get("label") or item.get("key", "")),
                "text": format_value(item.get("value"), unit),
                "change": _short_change(item.get("value"), item.get("previous"), unit),
            }
        )
    base = f"{quote(client, safe='')}/{quote(period)}/"
    for label, name in (
        ("Report", "report.html"),
        ("Annex", "annex.xlsx"),
        ("KPIs", "kpis.json"),
        ("Notebook", "report.ipynb"),
    ):
        if (folder / name).is_file():
            e.links[label] = base + name
    return e


def collect_entries(out: str | os.PathLike, results: Iterable = ()) -> list[Entry]:
    """Entries for every ``OUT/<client>/<period>`` with a manifest, corrected by
    this run's ``results`` (``TaskResult``-like objects)."""
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
                    e = _entry_from_folder(folder)
                    if e is not None:
                        entries[(e.client, e.period)] = e
    for r in results:
        key = (r.client, r.period)
        have = entries.get(key)
        if have is None or (r.status != "ok" and have.ok):
            links = {}
            if have is not None and "Notebook" in have.links:
                links["Notebook"] = have.links["Notebook"]
            entries[key] = Entry(
                r.client,
                r.period,
                r.status,
                r.reason,
                client_name=r.client,
                seconds=r.seconds,
                links=links,
            )
    return sorted(entries.values(), key=lambda e: (e.client_name.casefold(), e.client, e.period))


def _neg_period(period: str) -> int:
    """Sort key putting the latest period first."""
    try:
        y, m = period.split("-")
        return -(int(y) * 12 + int(m))
    except ValueError:
        return 0


def render_index(entries: list[Entry], title: str = "IMMEX monthly reports") -> str:
    import jinja2

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


def write_index(out: str | os.PathLike, results: Iterable = ()) -> Path:
    """Write ``OUT/index.html`` atomically; return its path."""
    from immex_nb.outputs import write_text

    out = Path(out)
    return write_text(out / "index.html", render_index(collect_entries(out, results)))
