"""What the dashboard reads from the DuckDB file, each call opening it read-only as `tracker query`
does. Blocking: the server calls these in a worker thread, never on the event loop.

Every document is built by the serializer the CLI's `--json` uses (`output.terminal.watch_json`,
`output.reads`, `output.user_query`), so the API and the CLI share their keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker import resources
from tracker.errors import BadInput
from tracker.jsonable import jsonable
from tracker.records import AccountReport, AccountSnapshot, EthereumReport, Holding, Position
from tracker.store import Store, open_store
from tracker.watchlists import Watchlist, merge

SCOPES = ("watched", "universe")
FEED_MAX = 200  # new alerts or episodes pushed after one change (the newest, when more)


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """The overview's filters (None: no filter)."""

    watchlist: str | None = None
    tag: str | None = None
    coin: str | None = None
    address: str | None = None
    cohort: str | None = None  # an account value or all-time PnL band (cohort_bands)
    scope: str | None = None  # SCOPES: on a watchlist, or in the discovered universe
    entity: str | None = None  # the watchlists' `entity` field, any case


class Reader:
    """The read side of one DuckDB file, labelled by the watchlists."""

    def __init__(self, db: Path, watchlists: Sequence[Watchlist], large_usd: Decimal) -> None:
        self.db = db
        self.watchlists = tuple(watchlists)
        self.entries = {e.address: e for e in merge(self.watchlists)}
        self.listed: dict[str, list[str]] = {}  # address -> the watchlists naming it, in order
        for w in self.watchlists:
            for name in dict.fromkeys(e.address for e in w.entries):
                self.listed.setdefault(name, []).append(w.name)
        self.large_usd = large_usd
        self.query_timeout_s = 10.0  # /api/query: a reader holds the lock `tracker run` needs
        self.query_max_rows = 10_000

    def _rows(self, store: Store, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = store.con.execute(resources.sql("reads", name), params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _addresses(self, store: Store, filters: Filters) -> list[str] | None:
        """The addresses the filters allow (None: every stored account)."""
        allowed: set[str] | None = None

        def keep(found: set[str]) -> None:
            nonlocal allowed
            allowed = found if allowed is None else allowed & found

        if filters.watchlist is not None:
            found = [w for w in self.watchlists if w.name == filters.watchlist]
            if not found:
                raise BadInput(f"no watchlist named {filters.watchlist[:80]!r}")
            keep({e.address for e in found[0].entries})
        if filters.tag is not None:
            keep({a for a, e in self.entries.items() if filters.tag in e.tags})
        if filters.entity is not None:
            keep({a for a, _ in self._members(filters.entity)})
        if filters.address is not None:
            keep({filters.address})
        if filters.scope == "watched":
            keep(set(self.entries))
        elif filters.scope == "universe":
            keep({r["address"] for r in self._rows(store, "web_universe", {})})
        if filters.cohort is not None:
            keep(self._cohort(store, filters.cohort))
        return None if allowed is None else sorted(allowed)

    def _cohort(self, store: Store, cohort: str) -> set[str]:
        from tracker.output.market import check_schema

        check_schema(store)
        if cohort not in {r["cohort"] for r in self._rows(store, "web_cohorts", {})}:
            raise BadInput(f"no cohort named {cohort[:80]!r} (see /api/cohorts)")
        return {r["address"] for r in self._rows(store, "web_cohort_members", {"cohort": cohort})}

    def _members(self, name: str) -> list[tuple[str, str]]:
        """(address, label) of the entity's addresses; BadInput for an entity no watchlist names."""
        from tracker.output.entity import entity_addresses

        return entity_addresses(list(self.entries.values()), name)

    def entities(self) -> list[dict[str, Any]]:
        """`tracker entity list`: every entity named in the watchlists, with its address count."""
        from tracker.output.entity import entities

        counted = entities(list(self.entries.values()))
        return [{"entity": name, "addresses": count} for name, count in counted.items()]

    def entity(self, name: str) -> dict[str, Any] | None:
        """`tracker entity show NAME --json` (None: no watchlist names that entity)."""
        from tracker.output.entity import entity_view

        named = {e.entity.lower() for e in self.entries.values() if e.entity}
        if name.lower() not in named:
            return None
        return entity_view(self.db, name, self._members(name))

    def cohorts(self) -> list[dict[str, Any]]:
        """The cohort bands the overview filters by, in display order."""
        from tracker.output.market import check_schema

        with open_store(self.db, read_only=True) as store:
            check_schema(store)
            return self._rows(store, "web_cohorts", {})

    def overview(self, filters: Filters) -> list[dict[str, Any]]:
        """Stored accounts, riskiest first, with their labels and nearest liquidation."""
        with open_store(self.db, read_only=True) as store:
            addresses = self._addresses(store, filters)
            params = {
                "every": addresses is None,
                "addresses": addresses or [],
                "coin": filters.coin,
            }
            rows = self._rows(store, "web_overview", params)
        for row in rows:
            entry = self.entries.get(row["address"])
            row["label"] = entry.label if entry else None
            row["tags"] = list(entry.tags) if entry else []
            row["entity"] = entry.entity if entry else None
            row["watchlists"] = self.listed.get(row["address"], [])
        return [jsonable(r) for r in rows]

    def account(self, address: str) -> dict[str, Any] | None:
        """`tracker watch --once --json` of address's latest stored state (None: never stored)."""
        from tracker.output.terminal import watch_json

        with open_store(self.db, read_only=True) as store:
            accounts = self._rows(store, "web_accounts", {"address": address})
            positions = self._rows(store, "web_positions", {"address": address})
            holdings = self._rows(store, "web_holdings", {"address": address})
        if not accounts and not holdings:
            return None
        snapshots = tuple(
            AccountSnapshot(
                **a,
                positions=tuple(
                    Position(**p)
                    for p in positions
                    if (p["venue"], p["dex"], p["ts"]) == (a["venue"], a["dex"], a["ts"])
                ),
            )
            for a in accounts
        )
        times = [a.ts for a in snapshots] + [h["ts"] for h in holdings]
        report = AccountReport(address=address, ts=max(times), accounts=snapshots, spot=())
        eth = (
            EthereumReport(
                address=address,
                ts=holdings[0]["ts"],
                holdings=tuple(Holding(**h) for h in holdings),
                accounts=(),
                aave=(),
            )
            if holdings
            else None
        )
        return watch_json(report, eth)

    def records(self, address: str, stream: str, *, limit: int, offset: int) -> dict[str, Any]:
        """A page of address's fills, funding or ledger (stream), newest first."""
        if stream not in ("fills", "funding", "ledger"):
            raise ValueError(f"no such stream: {stream}")
        params = {"address": address, "limit": limit + 1, "offset": offset}  # +1: is there more?
        with open_store(self.db, read_only=True) as store:
            rows = self._rows(store, f"web_{stream}", params)
        more = len(rows) > limit
        return {
            "rows": [jsonable(r) for r in rows[:limit]],
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if more else None,
        }

    def history(self, address: str, since: datetime | None) -> dict[str, Any] | None:
        """What `tracker chart` draws for address, as JSON (None: never stored)."""
        from tracker.output.charts import chart_series

        entry = self.entries.get(address)
        with open_store(self.db, read_only=True) as store:
            try:
                series = chart_series(
                    store, address, since=since, label=entry.label if entry else None
                )
            except BadInput:
                return None
        doc: dict[str, Any] = jsonable(dataclasses.asdict(series))
        return doc

    def liquidations_daily(
        self, *, min_usd: Decimal, since: datetime | None, address: str | None, coin: str | None
    ) -> list[dict[str, Any]]:
        """`tracker liquidations --daily --json`."""
        from tracker.output import reads as views
        from tracker.venues import ETHEREUM

        return views.liquidations_daily(
            self.db,
            min_usd=min_usd,
            since=since,
            address=address,
            coin=coin,
            labels={a: e.label for a, e in self.entries.items()},
            watched=[a for a, e in self.entries.items() if ETHEREUM in e.venues],
        )

    def liquidations(
        self, *, min_usd: Decimal, since: datetime | None, address: str | None
    ) -> list[dict[str, Any]]:
        """`tracker liquidations --json`."""
        from tracker.output import reads as views
        from tracker.venues import ETHEREUM

        return views.liquidations(
            self.db,
            min_usd=min_usd,
            since=since,
            address=address,
            large_usd=self.large_usd,
            watched=[a for a, e in self.entries.items() if ETHEREUM in e.venues],
            labels={a: e.label for a, e in self.entries.items()},
        )

    def market(self, coin: str, dex: str | None) -> dict[str, Any] | None:
        """`tracker market COIN --json` from the store (None: a coin it never saw)."""
        from tracker.web import market

        labels = {a: e.label for a, e in self.entries.items() if e.label}
        return market.market(self.db, coin, dex, labels)

    def liqmap(self, coin: str, dex: str | None, buckets: int) -> dict[str, Any] | None:
        """The liquidation map of COIN's tracked positions (None: none held)."""
        from tracker.web import market

        return market.liqmap(self.db, coin, dex, buckets)

    def alerts(self, *, limit: int, kind: str | None) -> list[dict[str, Any]]:
        """`tracker alerts --json`."""
        from tracker.output import reads as views

        return views.alerts(self.db, limit=limit, kind=kind)

    def new_alerts(self, after: datetime) -> list[dict[str, Any]]:
        """`tracker alerts --json` rows stored after `after`, oldest first (at most FEED_MAX)."""
        from tracker.output import reads as views

        rows = views.alerts(self.db, limit=FEED_MAX, kind=None, after=after)
        return rows[::-1]

    def new_liquidations(self, after: datetime) -> list[dict[str, Any]]:
        """`tracker liquidations --json` rows of the episodes stored or extended after `after`."""
        with open_store(self.db, read_only=True) as store:
            updated = [
                r["episode_id"] for r in self._rows(store, "web_episodes_updated", {"after": after})
            ]
        if not updated:
            return []
        wanted = set(updated[-FEED_MAX:])
        every = self.liquidations(min_usd=Decimal(0), since=None, address=None)
        found = {r["episode_id"]: r for r in every if r["episode_id"] in wanted}
        return [found[e] for e in updated[-FEED_MAX:] if e in found]

    def query(self, sql: str | None, name: str | None, params: list[str]) -> list[dict[str, Any]]:
        """`tracker query --format json`, read-only (no --write here, ever)."""
        from tracker.output import user_query as queries

        statement, bound = queries.resolve(sql, name, params)
        result = queries.run(
            self.db,
            statement,
            bound,
            write=False,
            timeout_s=self.query_timeout_s,
            max_rows=self.query_max_rows,
        )
        return queries.as_objects(result)

    def latest(self) -> dict[str, Any]:
        """The newest snapshot, alert and liquidation times (what the stream announces)."""
        with open_store(self.db, read_only=True) as store:
            rows = self._rows(store, "web_latest", {})
        doc: dict[str, Any] = jsonable(rows[0])
        return doc
