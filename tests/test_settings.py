"""client.toml: every key must have its TOML type (immex_nb.settings)."""

from __future__ import annotations

import re

import pytest

from immex_nb.cli import main
from immex_nb.errors import ImmexError
from immex_nb.settings import ClientSettings, read_settings


def write_toml(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "client.toml").write_text(text, encoding="utf-8")
    return folder


def test_missing_file_gives_defaults_named_after_the_folder(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    assert read_settings(folder) == ClientSettings(name="acme")


def test_valid_file_is_read_with_its_types(tmp_path):
    """Every key given; fine_rate written as the integer 1 is kept as 1.0."""
    folder = write_toml(
        tmp_path / "norte",
        'name = "Electrónica del Norte"\nvat_certified = false\nprosec = false\n'
        'oea = true\ndeadline_rule = "cff"\nfine_rate = 1\n',
    )
    s = read_settings(folder)
    assert s == ClientSettings(
        name="Electrónica del Norte",
        vat_certified=False,
        prosec=False,
        oea=True,
        deadline_rule="cff",
        fine_rate=1.0,
    )
    assert type(s.fine_rate) is float


def test_partial_file_keeps_the_other_defaults(tmp_path):
    s = read_settings(write_toml(tmp_path / "acme", "fine_rate = 0.5\n"))
    assert s == ClientSettings(name="acme", fine_rate=0.5)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('oea = "false"', "oea must be true or false (a TOML boolean), got 'false'"),
        ('vat_certified = "no"', "vat_certified must be true or false (a TOML boolean), got 'no'"),
        ("prosec = 0", "prosec must be true or false (a TOML boolean), got 0"),
        ("fine_rate = [1]", "fine_rate must be a number 0 or greater"),
        ('fine_rate = "abc"', "fine_rate must be a number 0 or greater"),
        ("fine_rate = -0.5", "fine_rate must be a number 0 or greater"),
        ("fine_rate = nan", "fine_rate must be a number 0 or greater"),
        ("fine_rate = inf", "fine_rate must be a number 0 or greater"),
        ("fine_rate = true", "fine_rate must be a number 0 or greater"),
        ("name = { legal = 'Norte' }", "name must be text in quotes"),
        ("name = 7", "name must be text in quotes"),
        ('deadline_rule = "monthly"', 'deadline_rule must be one of "clamp" or "cff"'),
        ("deadline_rule = 1", 'deadline_rule must be one of "clamp" or "cff"'),
    ],
)
def test_wrong_type_names_file_key_value_and_what_is_accepted(tmp_path, line, message):
    folder = write_toml(tmp_path / "acme", line + "\n")
    with pytest.raises(ImmexError) as info:
        read_settings(folder)
    text = str(info.value)
    assert text.startswith(f"{folder / 'client.toml'}: ")
    assert message in text
    assert "\n" not in text


def test_message_shows_the_value_given(tmp_path):
    """The value appears as written, so the consultant can find it."""
    cases = {
        "fine_rate = [1]": "got [1]",
        'fine_rate = "abc"': "got 'abc'",
        "name = { legal = 'Norte' }": "got {'legal': 'Norte'}",
        'deadline_rule = "monthly"': "got 'monthly'",
    }
    for line, shown in cases.items():
        folder = write_toml(tmp_path / "acme", line + "\n")
        with pytest.raises(ImmexError, match=re.escape(shown)):
            read_settings(folder)


def test_unknown_key_and_bad_toml_still_rejected(tmp_path):
    with pytest.raises(ImmexError, match=r"unknown setting\(s\) \['oea_'\]"):
        read_settings(write_toml(tmp_path / "a", "oea_ = true\n"))
    with pytest.raises(ImmexError, match="not valid TOML"):
        read_settings(write_toml(tmp_path / "b", "oea = false\noea = true\n"))


def test_cli_discharge_with_bad_client_toml_exits_2(tmp_path, write_client, capsys):
    """fine_rate = [1] used to pass read_settings and fail later with a traceback."""
    folder = write_client(tmp_path / "acme")
    write_toml(folder, "fine_rate = [1]\n")
    out = tmp_path / "out"
    assert main(["discharge", str(folder), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "client.toml: fine_rate must be a number 0 or greater" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (out / "allocations.csv").exists()


def test_cli_discharge_with_string_boolean_exits_2(tmp_path, write_client, capsys):
    folder = write_client(tmp_path / "acme")
    write_toml(folder, 'oea = "false"\n')
    assert main(["discharge", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "client.toml: oea must be true or false (a TOML boolean), got 'false'" in err
