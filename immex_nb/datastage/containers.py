"""Finding the ``.asc`` members of Data Stage requests without trusting the ZIPs.

Requests arrive as ZIPs (sometimes a ZIP inside a ZIP, with ``__MACOSX/``
debris), folders of ZIPs, loose ``.asc`` files, or any list of those.  A
member that cannot be read never stops the others:

* encrypted members, compression methods Python cannot inflate (Deflate64,
  method 9, which Windows' "send to compressed folder" writes for big files),
  bad CRCs and zlib errors become ``unreadable_member`` findings;
* a member whose declared size is absurd, or whose size against its
  compressed size looks like a ZIP bomb, is refused *before* it is inflated
  (``refused_member``);
* a truncated ZIP (central directory missing) is walked through its local
  headers: every member that is complete is still read (``truncated_zip``).

Members are yielded one at a time, so only one file's bytes are held at once.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from immex_nb.datastage.layouts import RECORD_TYPES
from immex_nb.errors import ImmexError
from immex_nb.text import t

#: a member declaring more than this many bytes is refused (the largest real
#: ``.asc`` seen is a few tens of MB)
MAX_MEMBER_BYTES = 1 << 30
#: a member inflating more than this many times its compressed size is refused
#: once it declares more than :data:`RATIO_FLOOR` bytes (text deflates 5–30×;
#: a bomb reaches Deflate's ceiling, about 1000×)
MAX_RATIO = 200
RATIO_FLOOR = 8 << 20
MAX_NESTING = 5

_TIPOS_BY_LOWER = {t.lower(): t for t in RECORD_TYPES}
_LOCAL = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")


@dataclass(frozen=True)
class Limits:
    max_member_bytes: int = MAX_MEMBER_BYTES
    max_ratio: float = MAX_RATIO
    ratio_floor: int = RATIO_FLOOR


@dataclass
class Member:
    label: str  # "F1_solicitudes.zip:F1_501.asc"
    container: str  # "F1_solicitudes.zip" (the folder for loose files)
    folio: str
    tipo: str
    data: bytes


Note = Callable[[str, str, str], None]  # (source, check, detail)


def _words(key: str, **fields) -> str:
    """A finding's words: the English of ``ds_finding.<key>``
    (immex_nb/data/text/ds_findings.csv, where the Spanish sits beside it)."""
    return t(f"ds_finding.{key}", "en", **fields)


def classify(name: str) -> tuple[str, str] | None:
    """``'ABC123_501.asc'`` → ``('ABC123', '501')``; anything else → None."""
    base = PurePosixPath(name.replace("\\", "/")).name
    if not base.lower().endswith(".asc") or base.startswith("._"):
        return None
    folio, _, tipo = base[:-4].rpartition("_")
    real = _TIPOS_BY_LOWER.get(tipo.lower())
    return None if real is None else (folio, real)


def skip(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p == "__MACOSX" for p in parts) or (bool(parts) and parts[-1].startswith("._"))


def as_paths(path_or_paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(path_or_paths, (str, os.PathLike)):
        items = [path_or_paths]
    else:
        items = list(path_or_paths)
    if not items:
        raise ImmexError(
            "no Data Stage path given; give a ZIP, a folder of .asc files or ZIPs, or a list of them"
        )
    return [Path(p) for p in items]


def sources(paths: list[Path], note: Note) -> list[tuple[Path, str]]:
    """Every file to read, as ``(path, label)``, each physical file once."""
    out: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_file():
            candidates = [(path, path.name)]
        elif path.is_dir():
            candidates = [
                (p, str(p.relative_to(path)))
                for p in sorted(path.rglob("*"))
                if p.is_file() and not skip(str(p.relative_to(path)))
            ]
        else:
            raise ImmexError(
                f"Data Stage path {path} does not exist; give a ZIP, a folder of .asc files "
                "or a folder of ZIPs"
            )
        for p, label in candidates:
            real = p.resolve()
            if real in seen:
                continue
            seen.add(real)
            if p.suffix.lower() == ".zip" or classify(p.name) is not None:
                out.append((p, label))
            elif path.is_dir():
                note(label, "unknown_file", _words("ignored"))
            else:
                raise ImmexError(f"{p} is not a Data Stage ZIP or .asc file")
    return out


def members(files: list[tuple[Path, str]], note: Note, limits: Limits) -> Iterator[Member]:
    """The ``.asc`` members of every source, one at a time."""
    for path, label in files:
        if path.suffix.lower() == ".zip":
            yield from _zip(path, label, note, limits, 0)
        else:
            folio, tipo = classify(path.name)  # type: ignore[misc]
            container = str(PurePosixPath(label).parent)
            yield Member(label, container, folio, tipo, path.read_bytes())


def _entry(
    name: str, data: bytes, label: str, container: str, note: Note, limits: Limits, depth: int
) -> Iterator[Member]:
    inner = f"{label}:{name}"
    if name.lower().endswith(".zip"):
        yield from _zip(data, inner, note, limits, depth + 1)
        return
    kind = classify(name)
    if kind is None:
        note(inner, "unknown_file", _words("ignored"))
        return
    yield Member(inner, container, kind[0], kind[1], data)


def _refusal(size: int, compressed: int, limits: Limits) -> str | None:
    if size > limits.max_member_bytes:
        return _words("over_limit", size=f"{size:,}", limit=f"{limits.max_member_bytes:,}")
    if size > limits.ratio_floor and size > limits.max_ratio * max(compressed, 1):
        return _words(
            "probable_bomb",
            size=f"{size:,}",
            compressed=f"{compressed:,}",
            ratio=f"{limits.max_ratio:g}",
        )
    return None


_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_METHOD_NAMES = {9: "Deflate64", 6: "Implode", 98: "PPMd", 99: "AES"}


def _method(key: str, method: int) -> str:
    """The words of ``key`` for a compression method: its name when it has
    one (``Deflate64``), else its number (``method 93``, key ``<key>_number``)."""
    if method in _METHOD_NAMES:
        return _words(key, method=_METHOD_NAMES[method])
    return _words(key.replace("method_", "method_number_"), number=method)


def _zip(
    source: Path | bytes, label: str, note: Note, limits: Limits, depth: int
) -> Iterator[Member]:
    if depth > MAX_NESTING:
        note(label, "unknown_file", _words("nested_too_deep"))
        return
    try:
        zf = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        data = source.read_bytes() if isinstance(source, Path) else source
        if data[:4] == _LOCAL:
            note(label, "truncated_zip", _words("no_directory", error=exc))
            yield from _salvage(data, label, note, limits, depth)
        else:
            note(label, "unknown_file", _words("not_a_zip"))
        return
    with zf:
        for info in zf.infolist():
            if info.is_dir() or skip(info.filename):
                continue
            where = f"{label}:{info.filename}"
            if info.flag_bits & 0x1:
                note(where, "unreadable_member", _words("encrypted"))
                continue
            if info.compress_type not in _METHODS:
                note(
                    where,
                    "unreadable_member",
                    _method("method_unsupported", info.compress_type),
                )
                continue
            refused = _refusal(info.file_size, info.compress_size, limits)
            if refused:
                note(where, "refused_member", refused)
                continue
            try:
                data = zf.read(info)
            except NotImplementedError as exc:  # a RuntimeError: before it (flag bit 5 …)
                note(where, "unreadable_member", _words("cannot_inflate", error=str(exc)[:160]))
                continue
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                RuntimeError,
                ValueError,
            ) as exc:
                note(where, "unreadable_member", _words("corrupt", error=str(exc)[:160]))
                continue
            yield from _entry(info.filename, data, label, label, note, limits, depth)


def _salvage(data: bytes, label: str, note: Note, limits: Limits, depth: int) -> Iterator[Member]:
    """Walk the local file headers of a ZIP whose central directory is gone."""
    pos = 0
    view = memoryview(data)
    while True:
        pos = data.find(_LOCAL, pos)
        if pos < 0 or pos + _LOCAL_HEADER.size > len(data):
            return
        _, _, flags, method, _, _, crc, csize, usize, nlen, xlen = _LOCAL_HEADER.unpack_from(
            data, pos
        )
        start = pos + _LOCAL_HEADER.size + nlen + xlen
        name = bytes(view[pos + _LOCAL_HEADER.size : pos + _LOCAL_HEADER.size + nlen]).decode(
            "utf-8" if flags & 0x800 else "cp437", errors="replace"
        )
        where = f"{label}:{name}"
        pos = start
        if name.endswith("/") or skip(name):
            continue
        if flags & 0x1:
            note(where, "unreadable_member", _words("encrypted"))
            continue
        if not flags & 0x8:
            refused = _refusal(usize, csize, limits)
            if refused:
                note(where, "refused_member", refused)
                continue
        if method == zipfile.ZIP_STORED and not flags & 0x8:
            content = bytes(view[start : start + csize])
            if len(content) < csize:
                note(where, "unreadable_member", _words("cut_off"))
                return
            pos = start + csize
        elif method == zipfile.ZIP_DEFLATED:
            d = zlib.decompressobj(-15)
            try:
                content = d.decompress(view[start:], limits.max_member_bytes + 1)
            except zlib.error as exc:
                note(where, "unreadable_member", _words("corrupt", error=exc))
                continue
            if len(content) > limits.max_member_bytes:
                note(where, "refused_member", _words("inflates_past_limit"))
                return
            if not d.eof:
                note(where, "unreadable_member", _words("cut_off"))
                return
            pos = len(data) - len(d.unused_data)
            if not flags & 0x8 and zlib.crc32(content) != crc:
                note(where, "unreadable_member", _words("bad_crc"))
                continue
        else:
            note(where, "unreadable_member", _method("method_in_truncated", method))
            continue
        yield from _entry(name, content, label, label, note, limits, depth)
