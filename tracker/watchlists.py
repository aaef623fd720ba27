"""Watchlists: TOML files of labelled addresses with provenance (sources and a confidence tier).

One file per watchlist, one `[[address]]` table per watched address (the format is described at
the top of watchlists/whales.toml). Everything read is validated; a problem raises WatchlistError
naming the file and the entry. `add` and `remove` edit the file in place with tomlkit, keeping
comments and layout, validate the whole result and then replace the file atomically, so a failed
edit leaves the file as it was.

Longer than our ~400 lines: reading and the comment-keeping edits share the validation, so a
file that `add` writes is always one that `load` accepts; splitting them would split that rule.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.addresses import is_address, normalise_address
from tracker.atomic import write_atomic
from tracker.errors import BadAddress, BadInput
from tracker.resources import data_dir
from tracker.venues import HYPERLIQUID, WATCHLIST_VENUES

if TYPE_CHECKING:  # tomlkit is imported where a file is edited: reading needs only tomllib
    import tomlkit
    from tomlkit.items import Table

log = logging.getLogger(__name__)

VENUES = WATCHLIST_VENUES
DEFAULT_VENUES = (HYPERLIQUID,)
CONFIDENCE_TIERS = ("A", "B", "B-", "C")  # defined in the reference: peers-and-addresses.md §3

_ENTRY_KEYS = frozenset({"address", "label", "venues", "tags", "entity", "confidence", "sources"})
_TOP_KEYS = frozenset({"description", "interval", "address"})
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_HEADER = re.compile(r"^\s*\[\[?[^\[\]#]+\]\]?\s*(#.*)?$")
_ADDRESS_HEADER = re.compile(r"^\s*\[\[\s*(address|\"address\"|'address')\s*\]\]\s*(#.*)?$")
_COMMENT = re.compile(r"^\s*#")
_BLANK = re.compile(r"^\s*$")


class WatchlistError(BadInput):
    """A watchlist that cannot be used: bad TOML, a bad entry, or an edit that is not possible."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchedAddress:
    """One watched address with its label and where the attribution comes from."""

    address: str  # lower-case 0x + 40 hex
    label: str
    venues: tuple[str, ...] = DEFAULT_VENUES
    tags: tuple[str, ...] = ()
    entity: str | None = None  # groups several addresses of one actor
    confidence: str | None = None  # one of CONFIDENCE_TIERS
    sources: tuple[str, ...] = ()
    watchlist: str  # name of the file it came from (its stem)
    interval_s: float | None = None  # its watchlist's `interval` (the daemon's when None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Watchlist:
    """One watchlist file, validated."""

    name: str
    path: Path
    description: str | None = None
    interval_s: float | None = None  # overrides the daemon's global poll interval
    entries: tuple[WatchedAddress, ...] = ()


def watchlists_dir(env: Mapping[str, str]) -> Path:
    """$TRACKER_WATCHLISTS_DIR, else ./watchlists if present, else the folder tracker ships."""
    configured = env.get("TRACKER_WATCHLISTS_DIR")
    if configured:
        return Path(configured).expanduser()
    local = Path("watchlists")
    return local if local.is_dir() else data_dir("watchlists")


def resolve(name_or_path: str, directory: Path) -> Path:
    """The file a watchlist argument means: a path as given, or DIRECTORY/NAME.toml for a name."""
    as_path = Path(name_or_path).expanduser()
    if as_path.is_file() or "/" in name_or_path or name_or_path.endswith(".toml"):
        return as_path
    if not _NAME.match(name_or_path):
        raise WatchlistError(
            f"not a watchlist name: {name_or_path!r} (use letters, digits, '_', '.', '-', "
            "or a path to a .toml file)"
        )
    return directory / f"{name_or_path}.toml"


def load(path: Path) -> Watchlist:
    """Read and validate one watchlist file."""
    return _validate(_data(_read(path), path), path)


def load_all(source: Path | Iterable[Path]) -> list[Watchlist]:
    """Every *.toml in a folder (sorted by name), or the given files in the given order."""
    if isinstance(source, Path):
        if not source.is_dir():
            raise WatchlistError(f"{source}: no such watchlists folder")
        paths = sorted(source.glob("*.toml"))
    else:
        paths = list(source)
    return [load(path) for path in paths]


def labelling(directory: Path, named: Sequence[str] = ()) -> list[Watchlist]:
    """The named watchlists (NAME or PATH) and every file in directory, each once; a missing
    directory is none (the pages label what they can: `tracker serve`, `tracker run --serve`)."""
    paths = [resolve(n, directory) for n in named]
    if directory.is_dir():
        paths += sorted(directory.glob("*.toml"))
    return load_all({p.resolve(): p for p in paths}.values())


def merge(watchlists: Iterable[Watchlist]) -> list[WatchedAddress]:
    """One entry per address, in first-seen order: what every command watches.

    The first file naming an address gives its label and file name, and its entity and
    confidence unless only a later file has them; venues, tags and sources of every file unite;
    the shortest interval wins.
    """
    merged: dict[str, WatchedAddress] = {}
    for watchlist in watchlists:
        for entry in watchlist.entries:
            first = merged.get(entry.address)
            merged[entry.address] = entry if first is None else _merged(first, entry)
    return list(merged.values())


def chosen(names: Sequence[str] | None, directory: Path) -> list[WatchedAddress]:
    """The merged entries of the named watchlists (NAME or PATH), or of every file in directory."""
    lists = load_all([resolve(n, directory) for n in names] if names else directory)
    if not lists:
        raise WatchlistError(f"no watchlists in {directory} (add one with 'tracker watchlist add')")
    entries = merge(lists)
    if not entries:
        raise WatchlistError("the chosen watchlists hold no address")
    return entries


def _merged(first: WatchedAddress, later: WatchedAddress) -> WatchedAddress:
    intervals = [i for i in (first.interval_s, later.interval_s) if i is not None]
    return replace(
        first,
        venues=_union(first.venues, later.venues),
        tags=_union(first.tags, later.tags),
        sources=_union(first.sources, later.sources),
        entity=first.entity if first.entity is not None else later.entity,
        confidence=first.confidence if first.confidence is not None else later.confidence,
        interval_s=min(intervals, default=None),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEntry:
    """An entry to append with `add_all`; empty venues means the default."""

    address: str
    label: str
    venues: Sequence[str] = ()
    tags: Sequence[str] = ()
    entity: str | None = None
    confidence: str | None = None
    sources: Sequence[str] = ()


def add(
    path: Path,
    *,
    address: str,
    label: str,
    venues: Sequence[str] = (),
    tags: Sequence[str] = (),
    entity: str | None = None,
    confidence: str | None = None,
    sources: Sequence[str] = (),
) -> Watchlist:
    """Append one entry to the file (created if missing); empty venues means the default."""
    entry = NewEntry(
        address=address,
        label=label,
        venues=venues,
        tags=tags,
        entity=entity,
        confidence=confidence,
        sources=sources,
    )
    return add_all(path, [entry])


def add_all(path: Path, entries: Sequence[NewEntry]) -> Watchlist:
    """Append entries to the file (created if missing) in one validated, atomic write."""
    if path.exists():
        doc = _parse(_read(path), path)
        current = _validate(doc.unwrap(), path)
    else:
        import tomlkit

        doc = tomlkit.document()
        current = Watchlist(name=path.stem, path=path)
    present = {entry.address: (n, entry.label) for n, entry in enumerate(current.entries, 1)}
    for new in entries:
        wanted = new.address.strip().lower()
        if wanted in present:
            number, label = present[wanted]
            raise WatchlistError(
                f"{_where(path, number, wanted)}: already in this watchlist as {label!r}"
            )
        present[wanted] = (len(present) + 1, new.label.strip())
        _append_entry(doc, _new_table(new, wanted), path)
    return _commit(path, doc.as_string())


def _new_table(new: NewEntry, address: str) -> Table:
    import tomlkit

    table = tomlkit.table()
    table.add("address", address)
    table.add("label", new.label.strip())
    if new.venues:
        table.add("venues", [venue.strip().lower() for venue in new.venues])
    if new.tags:
        table.add("tags", [tag.strip() for tag in new.tags])
    if new.entity is not None:
        table.add("entity", new.entity.strip())
    if new.confidence is not None:
        table.add("confidence", _tier_text(new.confidence))
    if new.sources:
        table.add("sources", [source.strip() for source in new.sources])
    return table


def remove(path: Path, address: str) -> Watchlist:
    """Delete the entry of ADDRESS from the file, with the comment block directly above it."""
    text = _read(path)
    doc = _parse(text, path)
    current = _validate(doc.unwrap(), path)
    try:
        target = normalise_address(address)
    except BadAddress as exc:
        raise WatchlistError(f"{path}: {exc}") from None
    numbers = [i for i, entry in enumerate(current.entries) if entry.address == target]
    if not numbers:
        raise WatchlistError(f"{path}: {target} is not in this watchlist")
    return _commit(path, _without_entry(text, doc, numbers[0]))


# --- reading and validating -------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        # Bytes, not read_text: keep the file's own line endings when it is written back.
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise WatchlistError(f"{path}: no such watchlist file") from None
    except OSError as exc:
        raise WatchlistError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise WatchlistError(f"{path}: not UTF-8 text") from None


def _parse(text: str, path: Path) -> tomlkit.TOMLDocument:
    import tomlkit
    from tomlkit.exceptions import ParseError, TOMLKitError

    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        reason = str(exc).rsplit(" at line ", 1)[0]
        raise WatchlistError(
            f"{path}: invalid TOML at line {exc.line}, column {exc.col}: {reason}"
        ) from None
    except TOMLKitError as exc:  # e.g. a key defined twice
        raise WatchlistError(f"{path}: invalid TOML: {exc}") from None


def _data(text: str, path: Path) -> dict[str, Any]:
    """The file's values, read with the standard library's parser (fast: a 1,000-address
    watchlist in milliseconds, where tomlkit, which keeps comments for editing, takes 0.4 s).
    An invalid file is parsed again by tomlkit, so its error reads as it always has."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return _parse(text, path).unwrap()


def _validate(data: dict[str, Any], path: Path) -> Watchlist:
    for key in sorted(data.keys() - _TOP_KEYS):
        log.warning("%s: unknown key %r ignored", path, key)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise WatchlistError(f"{path}: 'description' must be a string, got {_kind(description)}")
    interval = data.get("interval")
    if interval is not None and not _positive_number(interval):
        raise WatchlistError(
            f"{path}: 'interval' must be a positive number of seconds, got {interval!r}"
        )
    tables = data.get("address", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise WatchlistError(
            f"{path}: 'address' must be an array of tables ([[address]]), got {_kind(tables)}"
        )
    entries: list[WatchedAddress] = []
    seen: dict[str, int] = {}
    interval_s = None if interval is None else float(interval)
    for number, table in enumerate(tables, start=1):
        where = _where(path, number, table.get("address"))
        entry = replace(_entry(table, where, path.stem), interval_s=interval_s)
        if entry.address in seen:
            raise WatchlistError(
                f"{_where(path, number, entry.address)}: duplicate address, "
                f"already in entry {seen[entry.address]}"
            )
        seen[entry.address] = number
        entries.append(entry)
    return Watchlist(
        name=path.stem,
        path=path,
        description=description,
        interval_s=interval_s,
        entries=tuple(entries),
    )


def _entry(table: Mapping[str, Any], where: str, watchlist: str) -> WatchedAddress:
    for key in sorted(table.keys() - _ENTRY_KEYS):
        log.warning("%s: unknown key %r ignored", where, key)
    try:
        address = normalise_address(_text(table, "address", where))
    except BadAddress as exc:
        raise WatchlistError(f"{where}: {exc}") from None
    venues = tuple(venue.lower() for venue in _strings(table, "venues", where, DEFAULT_VENUES))
    if not venues:
        raise WatchlistError(f"{where}: 'venues' is empty (known: {', '.join(sorted(VENUES))})")
    for venue in venues:
        if venue not in VENUES:
            raise WatchlistError(
                f"{where}: unknown venue {venue!r} (known: {', '.join(sorted(VENUES))})"
            )
    confidence = table.get("confidence")
    if confidence is not None:
        confidence = _tier_text(_text(table, "confidence", where))
        if confidence not in CONFIDENCE_TIERS:
            raise WatchlistError(
                f"{where}: unknown confidence {table['confidence']!r} "
                f"(known: {', '.join(CONFIDENCE_TIERS)})"
            )
    return WatchedAddress(
        address=address,
        label=_text(table, "label", where),
        venues=_union(venues),
        tags=_strings(table, "tags", where, ()),
        entity=None if table.get("entity") is None else _text(table, "entity", where),
        confidence=confidence,
        sources=_strings(table, "sources", where, ()),
        watchlist=watchlist,
    )


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if value is None:
        raise WatchlistError(f"{where}: missing required key {key!r}")
    if not isinstance(value, str):
        raise WatchlistError(f"{where}: {key!r} must be a string, got {_kind(value)}")
    if not value.strip():
        raise WatchlistError(f"{where}: {key!r} is blank")
    return value.strip()


def _strings(
    table: Mapping[str, Any], key: str, where: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    value = table.get(key)
    if value is None:
        return default
    if not isinstance(value, list):
        raise WatchlistError(f"{where}: {key!r} must be a list of strings, got {_kind(value)}")
    for number, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise WatchlistError(
                f"{where}: {key!r} must be a list of strings, item {number} is {_kind(item)}"
            )
        if not item.strip():
            raise WatchlistError(f"{where}: {key!r} item {number} is blank")
    return _union(tuple(item.strip() for item in value))


def _where(path: Path, number: int, address: object) -> str:
    if isinstance(address, str) and is_address(address):
        short = address.strip().lower()
        return f"{path}: entry {number} ({short[:6]}…{short[-4:]})"
    return f"{path}: entry {number}"


def _tier_text(confidence: str) -> str:
    # The reference writes B− with a unicode minus; files and records use the ASCII "B-".
    return confidence.strip().replace("\u2212", "-").upper()


def _positive_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value > 0


def _kind(value: object) -> str:
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"),  # before int: bool is an int
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), "a date/time")


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for group in groups for item in group))


# --- editing ----------------------------------------------------------------------------------


def _append_entry(doc: tomlkit.TOMLDocument, table: Table, path: Path) -> None:
    import tomlkit
    from tomlkit.items import AoT

    # One blank line between the previous content and the new [[address]], so a trailing comment
    # of the file does not read as the new entry's comment (and `remove` can undo this exactly).
    existing = doc.get("address")
    if existing is None:
        if doc.as_string().strip():
            doc.add(tomlkit.nl())
        tables = tomlkit.aot()
        tables.append(table)
        doc.add("address", tables)
    elif isinstance(existing, AoT):
        if existing.body and not existing.body[-1].as_string().endswith("\n\n"):
            existing.body[-1].add(tomlkit.nl())
        existing.append(table)
    else:
        raise WatchlistError(
            f"{path}: 'address' is an inline array; write the entries as [[address]] tables "
            "to edit the file with tracker"
        )


def _without_entry(text: str, doc: tomlkit.TOMLDocument, index: int) -> str:
    """The file's text without entry INDEX (0-based): cut its lines, else delete via tomlkit."""
    expected = doc.unwrap()
    del expected["address"][index]
    cut = _cut_entry_lines(text, index)
    if cut is not None and _same_data(cut, expected):
        return cut
    # tomlkit keeps a comment above a table with the table before it, so this path can leave the
    # removed entry's comment above its neighbour; it is only used for layouts the cut cannot read.
    del doc["address"][index]
    return doc.as_string()


def _cut_entry_lines(text: str, index: int) -> str | None:
    lines = text.splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if _HEADER.match(line)]
    ours = [i for i in headers if _ADDRESS_HEADER.match(lines[i])]
    if index >= len(ours):
        return None
    start = ours[index]
    while start > 0 and _COMMENT.match(lines[start - 1]):  # the comment block directly above
        start -= 1
    region_end = next((i for i in headers if i > ours[index]), len(lines))
    end = ours[index] + 1
    for i in range(end, region_end):
        if not (_BLANK.match(lines[i]) or _COMMENT.match(lines[i])):
            end = i + 1
    after = end
    while after < region_end and _COMMENT.match(lines[after]):
        after += 1
    if after == len(lines) or _BLANK.match(lines[after]):  # comments closing the entry go too
        end = after
    while end < region_end and _BLANK.match(lines[end]):
        end += 1
    if all(_BLANK.match(line) for line in lines[end:]):  # last in the file: drop the gap above
        end = len(lines)
        while start > 0 and _BLANK.match(lines[start - 1]):
            start -= 1
    return "".join(lines[:start] + lines[end:])


def _same_data(text: str, expected: dict[str, Any]) -> bool:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        got = tomlkit.parse(text).unwrap()
    except TOMLKitError:
        return False
    return {**got, "address": got.get("address", [])} == {
        **expected,
        "address": expected.get("address", []),
    }


def _commit(path: Path, text: str) -> Watchlist:
    # Validate the text as it will be on disk, then write it; nothing is written on failure.
    watchlist = _validate(_parse(text, path).unwrap(), path)
    _write_atomic(path, text)
    return watchlist


def _write_atomic(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    try:
        write_atomic(path, text.encode("utf-8"), mode=mode)
    except OSError as exc:
        raise WatchlistError(f"{path}: cannot write: {exc.strerror or exc}") from None
