"""Safe writing: atomic files, table sets renamed into place together, stable bytes."""

from __future__ import annotations

import pandas as pd
import pytest

from immex_nb.outputs import write_csv, write_tables


def test_a_failed_set_leaves_the_previous_set_untouched(tmp_path, monkeypatch):
    import immex_nb.outputs as outputs

    write_tables({"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"y": [2]})}, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = outputs.write_csv

    def disk_fills_up(frame, target):  # the second table fails half way
        if target.name == "b.csv":
            raise OSError("no space left on device")
        return real(frame, target)

    monkeypatch.setattr(outputs, "write_csv", disk_fills_up)
    with pytest.raises(OSError, match="no space"):
        write_tables({"a": pd.DataFrame({"x": [9]}), "b": pd.DataFrame({"y": [9]})}, tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # old a.csv kept, no staging folder or temp file left


def test_csv_is_stable_and_keeps_cents_of_large_amounts(tmp_path):
    df = pd.DataFrame({"d": pd.to_datetime(["2026-01-31"]), "mxn": [123_456_789.12]})
    first = write_csv(df, tmp_path / "t.csv").read_bytes()
    assert first == b"d,mxn\n2026-01-31,123456789.12\n"
    assert write_csv(df, tmp_path / "t.csv").read_bytes() == first
    assert (tmp_path / "t.csv").stat().st_mode & 0o044  # readable by others, not 0600
