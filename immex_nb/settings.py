"""Per-client settings: an optional ``client.toml`` in the client folder.

A folder with just the CSV files works; every key has a default::

    name = "Electrónica del Norte"      # default: the folder name
    vat_certified = true                 # IVA/IEPS certification (LIVA 28-A)
    prosec = true                        # holds a PROSEC registration
    oea = false                          # OEA: 36-month limit (UNCONFIRMED, option)
    deadline_rule = "clamp"              # or "cff" (CFF art. 12)
    fine_rate = 0.0                      # fines as a share of omitted taxes

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

from immex_nb.errors import ImmexError

SETTINGS_FILE = "client.toml"
DEADLINE_RULES = ("clamp", "cff")


@dataclass(frozen=True)
class ClientSettings:
    name: str = ""
    vat_certified: bool = True
    prosec: bool = True
    oea: bool = False
    deadline_rule: str = "clamp"
    fine_rate: float = 0.0


def read_settings(folder: str | Path) -> ClientSettings:
    """The settings of ``folder`` (defaults when it has no ``client.toml``).

    Raises :class:`ImmexError` when the file is not TOML, names an unknown
    key, or gives a key a value of the wrong type or out of range.
    """
    folder = Path(folder)
    path = folder / SETTINGS_FILE
    if not path.exists():
        return ClientSettings(name=folder.name)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImmexError(f"{path}: not valid TOML ({exc})") from None
    known = {f.name: f for f in fields(ClientSettings)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ImmexError(f"{path}: unknown setting(s) {unknown}; accepted: {sorted(known)}")
    values = {"name": folder.name}
    for key, value in raw.items():
        values[key] = check_setting(path, key, value)
    return ClientSettings(**values)


def check_setting(path: Path, key: str, value: object) -> object:
    """``value`` of ``key`` as :class:`ClientSettings` holds it, or an
    :class:`ImmexError` naming the file, the key, the value and what is accepted."""
    kind = get_type_hints(ClientSettings)[key]
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
    else:  # name
        if isinstance(value, str):
            return value
        accepted = 'text in quotes, such as "Electrónica del Norte" (a TOML string)'
    raise ImmexError(f"{path}: {key} must be {accepted}, got {value!r}")
