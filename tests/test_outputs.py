"""Safe writing: atomic files, table sets renamed into place together, stable bytes."""

from __future__ import annotations

import csv
import os

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


# ---------------------------------------------------------------------------
# CSV cells never start a formula (docs/rules/validation.md)


def test_text_that_would_run_as_a_formula_gets_a_leading_quote(tmp_path):
    df = pd.DataFrame(
        {
            "part_number": ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\ry", "P-1"],
            "as_text": ["-5", "+1.5", "-2e3", "-", "- Tubo", None, "=1"],
            "number": [-5.0, 1.0, -0.5, 2.0, 3.0, 4.0, 5.0],
            "whole": [-1, 2, 3, 4, 5, 6, 7],
            "mixed": [-3, "=A1", 2.5, None, "ok", "@x", "-7"],
        }
    )
    df["kind"] = pd.Categorical(["=a", "b", "=a", "b", "b", "b", "b"])
    text = write_csv(df, tmp_path / "t.csv").read_text(encoding="utf-8")
    with (tmp_path / "t.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    back = pd.DataFrame(rows[1:], columns=rows[0])
    assert back["part_number"].tolist() == [
        "'=cmd|' /C calc'!A0",
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\ny",  # a carriage return in a cell is written as a line break, quoted
        "P-1",
    ]
    # text that is a plain number is a number: never a formula
    assert back["as_text"].tolist() == ["-5", "+1.5", "-2e3", "'-", "'- Tubo", "", "'=1"]
    assert back["number"].tolist() == ["-5", "1", "-0.5", "2", "3", "4", "5"]
    assert back["whole"].tolist()[0] == "-1"
    assert back["mixed"].tolist() == ["-3", "'=A1", "2.5", "", "ok", "'@x", "-7"]
    assert back["kind"].tolist()[:2] == ["'=a", "b"]
    assert ",-5,-1," in text  # negative numbers are written bare
    assert df["part_number"].iloc[0] == "=cmd|' /C calc'!A0"  # the caller's frame is untouched


def test_a_header_that_would_run_as_a_formula_gets_a_leading_quote(tmp_path):
    write_csv(pd.DataFrame({"=HYPERLINK(1)": [1], "ok": [2]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "'=HYPERLINK(1),ok"


# ---------------------------------------------------------------------------
# a set of tables is published at once


def _set(a: int) -> dict[str, pd.DataFrame]:
    return {"a": pd.DataFrame({"x": [a]}), "b": pd.DataFrame({"y": [a]})}


def _read_set(folder) -> tuple[int, int, str]:
    return (
        int(pd.read_csv(folder / "a.csv")["x"].iloc[0]),
        int(pd.read_csv(folder / "b.csv")["y"].iloc[0]),
        (folder / "manifest.json").read_text(),
    )


def test_a_crash_while_publishing_leaves_the_old_set_whole(tmp_path, monkeypatch):
    import immex_nb.outputs as outputs

    out = tmp_path / "out"
    write_tables(_set(1), out, extra={"manifest.json": "one\n"})

    def killed(*args, **kwargs):  # the run dies as the set would be swapped in
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "exchange_folders", killed)
    with pytest.raises(KeyboardInterrupt):
        write_tables(_set(2), out, extra={"manifest.json": "two\n"})
    assert _read_set(out) == (1, 1, "one\n")
    assert not list(tmp_path.rglob(".staging-*"))  # an error (not a kill) cleans up at once
    monkeypatch.undo()
    write_tables(_set(3), out, extra={"manifest.json": "three\n"})
    assert _read_set(out) == (3, 3, "three\n")


def test_stale_staging_is_removed_and_a_live_one_kept(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    write_tables(_set(1), out)
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(done.stdout)
    stale_beside = tmp_path / f".staging-out-{dead}-abc_12"
    stale_inside = out / ".staging-k2j3h4_a"  # an older layout's folder: nobody's
    live = tmp_path / f".staging-out-{os.getppid()}-live1"
    sibling = tmp_path / f".staging-out-2-{dead}-zz"  # belongs to a folder named "out-2"
    for folder in (stale_beside, stale_inside, live, sibling):
        folder.mkdir()
        (folder / "a.csv").write_text("x\n9\n")
    write_tables(_set(2), out)
    assert not stale_beside.exists() and not stale_inside.exists()
    assert live.exists() and sibling.exists()
    assert [pd.read_csv(out / n).iloc[0, 0] for n in ("a.csv", "b.csv")] == [2, 2]


def test_other_files_in_out_survive_and_links_are_followed(tmp_path):
    real = tmp_path / "real"
    write_tables(_set(1), real)
    (real / "exposure.csv").write_text("e\n1\n")
    (real / "notes").mkdir()
    (real / "notes" / "n.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    write_tables(_set(2), link, extra={"manifest.json": "m\n"})
    assert link.is_symlink() and _read_set(real) == (2, 2, "m\n")
    assert (real / "exposure.csv").read_text() == "e\n1\n"
    assert (real / "notes" / "n.txt").read_text() == "mine"
    assert real.stat().st_mode & 0o055  # the usual mode, not mkdtemp's 0700


@pytest.mark.parametrize("why", ["no exchange call", "OUT is the current folder"])
def test_without_an_exchange_files_are_renamed_one_by_one(tmp_path, monkeypatch, why):
    import immex_nb.outputs as outputs

    out = tmp_path / "out"
    write_tables(_set(1), out)
    if why == "no exchange call":
        monkeypatch.setattr(outputs, "_exchange_call", lambda: None)
    else:
        monkeypatch.chdir(out)
    write_tables(_set(2), out, extra={"manifest.json": "m\n"})
    assert _read_set(out) == (2, 2, "m\n")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv", "manifest.json"]
    assert not list(tmp_path.rglob(".staging-*"))


def test_neutralising_follows_positions_not_labels(tmp_path):
    df = pd.DataFrame({"p": ["=a", "b", "-c"], "p2": [1, 2, 3]}, index=[7, 7, 7])
    df.columns = ["p", "p"]  # a repeated header too
    write_csv(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["p,p", "'=a,1", "b,2", "'-c,3"]
