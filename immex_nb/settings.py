"""Per-client settings: an optional ``client.toml`` in the client folder.

A folder with just the CSV files works; every key has a default::

    name = "Electrónica del Norte"      # default: the folder name
    vat_certified = true                 # IVA/IEPS certification (LIVA 28-A)
    prosec = true                        # holds a PROSEC registration
    oea = false                          # OEA: 36-month limit (UNCONFIRMED, option)
    deadline_rule = "clamp"              # or "cff" (CFF art. 12)
    fine_rate = 0.0                      # fines as a share of omitted taxes
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

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
    values = {"name": folder.name, **raw}
    if values.get("deadline_rule", "clamp") not in DEADLINE_RULES:
        raise ImmexError(
            f"{path}: deadline_rule {values['deadline_rule']!r} is not one of {list(DEADLINE_RULES)}"
        )
    return ClientSettings(**values)
