"""Per-client settings: an optional ``client.toml`` in the client folder.

A folder with just the CSV files works; every key has a default::

    name = "Electrónica del Norte"      # default: the folder name
    vat_certified = true                 # IVA/IEPS certification (LIVA 28-A)
    prosec = true                        # holds a PROSEC registration
    oea = false                          # OEA: 36-month limit (UNCONFIRMED, option)
    deadline_rule = "clamp"              # or "cff" (CFF art. 12)
    fine_rate = 0.0                      # fines as a share of omitted taxes
    language = "es"                      # report language: "es" or "en" (default: firm's, else es)
    legal_name = "Electrónica del Norte, S.A. de C.V."   # identity shown in the report
    rfc = "ENO010101AB1"
    immex_program = "IMMEX 2010-123"
    plant_address = "Av. Industrial 100, Apodaca, N.L."
    prepared_by = ""                     # sign-off (default: the firm's)
    reviewed_by = ""

The consultancy's own ``DATA_ROOT/firm.toml`` (optional, :func:`read_firm`)
gives the report its letterhead::

    name = "Consultores Aduanales del Norte"
    logo = "logo.png"                    # a PNG, JPEG or SVG file beside firm.toml
    primary_color = "#1F3A5F"            # "#RRGGBB"
    accent_color = "#2E5EAA"
    contact = "comercio@consultores.mx · +52 81 0000 0000"
    language = "es"
    prepared_by = "Lic. Ana Torres"
    reviewed_by = "C.P. Luis Garza"

Each value must have its key's TOML type.  A consultant who writes
``oea = "false"`` (a string, which Python would count as true) or
``fine_rate = "0,5"`` gets one line naming the file, the key, the value and
what is accepted, for example::

    clients/norte/client.toml: oea must be true or false (a TOML boolean), got 'false'

rather than a silently wrong setting or a traceback later on.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_type_hints

from immex_nb.dates import MONTH_RULES
from immex_nb.errors import ImmexError

SETTINGS_FILE = "client.toml"
FIRM_FILE = "firm.toml"
DEADLINE_RULES = MONTH_RULES
LANGUAGES = ("es", "en")
LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class ClientSettings:
    name: str = ""
    vat_certified: bool = True
    prosec: bool = True
    oea: bool = False
    deadline_rule: str = "clamp"
    fine_rate: float = 0.0
    language: str = ""
    legal_name: str = ""
    rfc: str = ""
    immex_program: str = ""
    plant_address: str = ""
    prepared_by: str = ""
    reviewed_by: str = ""


@dataclass(frozen=True)
class FirmSettings:
    """The consultancy's letterhead (``DATA_ROOT/firm.toml``); every key optional."""

    name: str = ""
    logo: str = ""
    primary_color: str = ""
    accent_color: str = ""
    contact: str = ""
    language: str = ""
    prepared_by: str = ""
    reviewed_by: str = ""


def read_firm(data_root: str | Path) -> FirmSettings:
    """``DATA_ROOT/firm.toml`` (defaults when there is none), type-checked like
    ``client.toml``; ``logo`` must name an existing PNG, JPEG or SVG file
    (relative to ``DATA_ROOT``)."""
    path = Path(data_root) / FIRM_FILE
    if not path.exists():
        return FirmSettings()
    values = _read_toml(path, FirmSettings)
    logo = values.get("logo")
    if logo:
        file = path.parent / logo
        if file.suffix.lower() not in LOGO_TYPES or not file.is_file():
            raise ImmexError(
                f"{path}: logo must name a PNG, JPEG or SVG file beside firm.toml, got {logo!r}"
            )
    return FirmSettings(**values)


def _read_toml(path: Path, kind: type) -> dict:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImmexError(f"{path}: not valid TOML ({exc})") from None
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ImmexError(f"{path}: unknown setting(s) {unknown}; accepted: {sorted(known)}")
    return {key: check_setting(path, key, value, kind) for key, value in raw.items()}


def read_settings(folder: str | Path) -> ClientSettings:
    """The settings of ``folder`` (defaults when it has no ``client.toml``).

    Raises :class:`ImmexError` when the file is not TOML, names an unknown
    key, or gives a key a value of the wrong type or out of range.
    """
    folder = Path(folder)
    path = folder / SETTINGS_FILE
    if not path.exists():
        return ClientSettings(name=folder.name)
    values = {"name": folder.name, **_read_toml(path, ClientSettings)}
    return ClientSettings(**values)


def check_setting(path: Path, key: str, value: object, settings: type = ClientSettings) -> object:
    """``value`` of ``key`` as ``settings`` (:class:`ClientSettings` or
    :class:`FirmSettings`) holds it, or an :class:`ImmexError` naming the
    file, the key, the value and what is accepted."""
    kind = get_type_hints(settings)[key]
    if kind is bool:
        if isinstance(value, bool):
            return value
        accepted = "true or false (a TOML boolean)"
    elif kind is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and math.isfinite(value) and value >= 0:
            return float(value)
        accepted = "a number 0 or greater, such as 0.5 (a TOML number, not text)"
    elif key == "deadline_rule":
        if isinstance(value, str) and value in DEADLINE_RULES:
            return value
        accepted = "one of " + " or ".join(f'"{r}"' for r in DEADLINE_RULES) + " (a TOML string)"
    elif key == "language":
        if isinstance(value, str) and value in LANGUAGES:
            return value
        accepted = "one of " + " or ".join(f'"{r}"' for r in LANGUAGES) + " (a TOML string)"
    elif key.endswith("_color"):
        if isinstance(value, str) and _is_hex_color(value):
            return value
        accepted = 'a colour written "#RRGGBB", such as "#1F3A5F" (a TOML string)'
    else:  # name and other text
        if isinstance(value, str):
            return value
        accepted = 'text in quotes, such as "Electrónica del Norte" (a TOML string)'
    raise ImmexError(f"{path}: {key} must be {accepted}, got {value!r}")


def _is_hex_color(value: str) -> bool:
    return (
        len(value) == 7
        and value[0] == "#"
        and all(c in "0123456789abcdefABCDEF" for c in value[1:])
    )
