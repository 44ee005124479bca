"""index.html never crashes: every failed entry — with or without a notebook,
whatever its cause — is listed with its reason (issue 14, item 1)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from immex_nb.report.index import Entry, collect_entries, render_index, write_index

REASONS = {
    "a..b": "client folder name 'a..b' is refused",
    "dead": "worker process died",
    "badperiod": "period '0000-01' is not valid",
    "full": "No space left on device",
}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_failed_entries_without_links_are_listed_with_their_reason(tmp_path, lang):
    results = [
        SimpleNamespace(client=c, period="2025-03", status="failed", reason=r, seconds=None)
        for c, r in REASONS.items()
    ]
    path = write_index(tmp_path, results, lang=lang)
    page = path.read_text(encoding="utf-8")
    for client, reason in REASONS.items():
        assert client in page
        assert reason.replace("'", "&#39;") in page
    assert "Traceback" not in page


def test_odd_periods_and_partial_results_are_listed(tmp_path):
    """A period no calendar can serve, and a result that lost its fields
    (a worker that died mid-way), still get a line each."""
    results = [
        SimpleNamespace(client="acme", period="0000-01", status="failed", reason="bad period"),
        SimpleNamespace(client="acme", period="9999-12", status="failed", reason="bad period 2"),
        SimpleNamespace(client="ghost", period=None, status=None, reason=None),
    ]
    page = write_index(tmp_path, results).read_text(encoding="utf-8")
    assert "0000-01" in page and "9999-12" in page and "ghost" in page
    assert "motivo desconocido" in page  # Spanish by default


def test_entry_without_links_or_reason_renders(tmp_path):
    page = render_index([Entry("x", "2025-03", "failed")])
    assert "x" in page
    entries = collect_entries(tmp_path, [])
    assert entries == []
    assert "<html" in render_index(entries)
