"""`tracker chart`, `liqmap` and `report`: valid images whose plotted series are the stored data.

The data comes from the real pipeline: three `tracker snapshot` passes against the fake venue
while marks move, with fills (an open, an increase, a BTC liquidation) arriving in between.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import matplotlib.dates as mdates
import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import CliResult, run_cli, tracker_env
from tests.fakes import seed
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.venue import now_ms
from tests.test_liquidations import liq_fill, wire_fill
from tests.test_snapshot import write_watchlist
from tracker.cli.charts import register
from tracker.errors import BadAddress, BadInput
from tracker.output import charts, liqmap
from tracker.store import open_store

WHALE = "0x00000000000000000000000000000000000c4a27"
MARKS = (("2900", "180"), ("2800", "185"), ("2700", "190"))  # ETH, SOL per pass
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class Replay:
    """A DuckDB file filled by three snapshot passes, and the environment that made it."""

    db: Path
    env: dict[str, str]
    folder: Path


def _whale_fills(t: int) -> list[dict]:
    """ETH opened then increased, and a BTC long liquidated in a market slice and a backstop."""
    liquidation = {"user": WHALE, "owner_side": "A", "coin": "BTC"}
    return [
        wire_fill("ETH", "2950.0", "600", t, 71, "0.0", "Open Long"),
        wire_fill("ETH", "2940.0", "300", t + 1_000, 72, "600.0", "Open Long"),
        liq_fill(
            **liquidation,
            px="84000",
            sz="2",
            time=t + 2_000,
            tid=73,
            method="market",
            start="4.0",
            mark="84010",
        ),
        liq_fill(
            **liquidation,
            px="83900",
            sz="2",
            time=t + 3_000,
            tid=74,
            method="backstop",
            start="2.0",
            mark="83950",
        ),
    ]


async def replay_database(folder: Path) -> Replay:
    env = tracker_env("http://127.0.0.1:9", folder / "t.duckdb", TRACKER_HISTORY_MAX_AGE="0.001")
    watchlist = write_watchlist(
        folder / "w.toml", WHALE, seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE
    )
    async with FakeHyperliquid.seeded() as fake:
        env["TRACKER_HL_API_URL"] = fake.url
        fake.set_mark("ETH", MARKS[0][0])
        fake.set_mark("SOL", MARKS[0][1])
        fake.put_model_account(
            WHALE,
            "-210000",  # cross raw USD: $600k of equity behind $2.6M of ETH, $1.8M of SOL short
            positions=[
                {"coin": "ETH", "size": "900", "entry_px": "2946.67", "leverage": 10},
                {"coin": "SOL", "size": "-10000", "entry_px": "175", "leverage": 5},
            ],
        )
        for i, (eth, sol) in enumerate(MARKS):
            fake.set_mark("ETH", eth)
            fake.set_mark("SOL", sol)
            result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
            assert result.code == 0, result.stderr
            assert json.loads(result.stdout)["addresses_ok"] == 3
            if i == 0:  # the fills happen between the first and second pass
                fake.put_fills(WHALE, list(reversed(_whale_fills(now_ms()))))
    env["TRACKER_WATCHLISTS_DIR"] = str(folder)
    return Replay(db=folder / "t.duckdb", env=env, folder=folder)


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """One replayed database per module (read-only afterwards: every command opens it so)."""
    return asyncio.run(replay_database(tmp_path_factory.mktemp("replay")))


def sql(db: Path, statement: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(statement, params).fetchall()
    finally:
        con.close()


def invoke(replay: Replay, *args: str):
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args), env={**replay.env, "COLUMNS": "160"})


def png_dimensions(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk; asserts a PNG without text or time chunks."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    offset, chunks = 8, []
    while offset < len(data):
        length = struct.unpack(">I", data[offset : offset + 4])[0]
        chunks.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    assert chunks[-1] == b"IEND"
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(chunks)  # no software, no date
    return width, height


def floats(values) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def same(a, b) -> bool:
    return len(a) == len(b) and all(
        x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True)
    )


# --- chart ---------------------------------------------------------------------------------------


def test_chart_series_equal_the_stored_data_and_are_what_is_plotted(replay):
    with open_store(replay.db, read_only=True) as store:
        series = charts.chart_series(store, WHALE, label="the whale")
    stored = sql(
        replay.db,
        "select ts, sum(account_value_usd) from account_snapshots where address = $a "
        "group by ts order by ts",
        {"a": WHALE},
    )
    assert len(stored) == 3
    assert list(series.ts) == [r[0] for r in stored]
    assert list(series.account_value_usd) == [r[1] for r in stored]
    pnl = sql(
        replay.db,
        "select ts, sum(unrealized_pnl_usd) from positions where address = $a group by ts "
        "order by ts",
        {"a": WHALE},
    )
    assert list(series.unrealized_pnl_usd) == [r[1] for r in pnl]
    assert series.account_value_usd[0] > series.account_value_usd[-1]  # ETH fell, SOL rose

    assert [c.coin for c in series.coins] == ["ETH", "SOL", "BTC"]  # largest notional first
    eth, sol, btc = series.coins
    rows = sql(
        replay.db,
        "select ts, mark_px, liquidation_px, venue_liquidation_px from positions "
        "where address = $a and coin = 'ETH' order by ts",
        {"a": WHALE},
    )
    assert list(eth.mark_px) == [r[1] for r in rows] == [Decimal(m) for m, _ in MARKS]
    assert list(eth.liquidation_px) == [r[2] for r in rows]
    assert list(eth.venue_liquidation_px) == [r[3] for r in rows]
    assert all(px is not None for px in eth.liquidation_px + sol.liquidation_px)
    assert [e.kind for e in eth.events] == ["open", "increase"]
    assert [e.avg_px for e in eth.events] == [Decimal("2950"), Decimal("2940")]
    assert btc.ts == () and [e.liquidation for e in btc.events] == [True, True]
    episode = sql(
        replay.db,
        "select start_ts, end_ts, notional_usd from liquidations where address = $a",
        {"a": WHALE},
    )
    assert [(e.start, e.end, e.notional_usd) for e in btc.liquidations] == episode
    assert episode[0][2] == Decimal(84000 * 2 + 83900 * 2)

    fig = charts.chart_figure(series)
    value_ax, pnl_ax, eth_ax, _, btc_ax = fig.axes
    assert list(value_ax.lines[0].get_xdata()) == charts.days(series.ts)
    assert list(value_ax.lines[0].get_ydata()) == floats(series.account_value_usd)
    assert list(pnl_ax.lines[0].get_ydata()) == floats(series.unrealized_pnl_usd)
    mark, ours, venue = eth_ax.lines[:3]
    assert list(mark.get_ydata()) == floats(r[1] for r in rows)
    assert same(list(ours.get_ydata()), floats(r[2] for r in rows))
    assert same(list(venue.get_ydata()), floats(r[3] for r in rows))
    assert [c.get_offsets()[0][1] for c in eth_ax.collections[:2]] == [2950.0, 2940.0]
    assert "the whale" in fig.get_suptitle() and WHALE in fig.get_suptitle()
    assert eth_ax.get_ylabel() == "price (USD)" and value_ax.get_ylabel() == "USD"
    assert btc_ax.get_xlabel() == "time (UTC)"
    assert value_ax.yaxis.get_major_formatter()(2_500_000.0) == "2,500,000"


def test_chart_command_writes_a_png_and_an_svg(replay, tmp_path):
    png = tmp_path / "x.png"
    result = invoke(replay, "chart", WHALE.upper().replace("0X", "0x"), "--out", str(png))
    assert result.exit_code == 0, result.output
    width, height = png_dimensions(png)
    assert png.stat().st_size > 10_000
    assert (width, height) == (1200, 1440)  # 12 in wide at 100 dpi; 2 account + 3 coin panels
    assert f"wrote {png} ({width}x{height} px" in result.output and "3 snapshots" in result.output

    again = tmp_path / "again.png"
    assert invoke(replay, "chart", WHALE, "--out", str(again)).exit_code == 0
    assert again.read_bytes() == png.read_bytes()  # deterministic

    svg = tmp_path / "eth.svg"
    result = invoke(replay, "chart", WHALE, "--coin", "eth", "--out", str(svg))
    assert result.exit_code == 0, result.output
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Date" not in svg.read_text() and "Matplotlib v" not in svg.read_text()
    assert "; ETH" in result.output and "SOL" not in result.output

    since = sql(replay.db, "select max(ts) from account_snapshots")[0][0].isoformat()
    late = invoke(replay, "chart", WHALE, "--since", since, "--out", str(tmp_path / "late.png"))
    assert late.exit_code == 0 and "1 snapshots" in late.output
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (("0x12",), BadAddress, "not an address"),
        ((WHALE, "--coin", "DOGE"), BadInput, "no DOGE data"),
        ((WHALE, "--since", "yesterday"), BadInput, "--since must be an ISO 8601"),
        ((WHALE, "--since", "2999-01-01"), BadInput, "no snapshots"),
        ((seed.EMPTY_ACCOUNT,), BadInput, "no snapshots"),
    ],
)
def test_chart_bad_input_is_one_line(replay, tmp_path, args, error, words):
    result = invoke(replay, "chart", *args, "--out", str(tmp_path / "c.png"))
    assert isinstance(result.exception, error), result.output
    assert words in str(result.exception) and "\n" not in str(result.exception)
    assert not (tmp_path / "c.png").exists()


@pytest.mark.parametrize("name", ["c.jpg", "c", "missing/c.png"])
def test_chart_refuses_other_files(replay, tmp_path, name):
    result = invoke(replay, "chart", WHALE, "--out", str(tmp_path / name))
    assert isinstance(result.exception, BadInput)
    assert "\n" not in str(result.exception)


# --- liqmap --------------------------------------------------------------------------------------


def test_liqmap_buckets_are_the_latest_liquidation_prices(replay):
    with open_store(replay.db, read_only=True) as store:
        m = liqmap.read_liqmap(store, "SOL", buckets=40)
    mark = sql(replay.db, "select mark_px from markets where coin = 'SOL' order by ts desc")[0][0]
    assert m.mark_px == mark == Decimal(MARKS[-1][1])
    assert len(m.edges) == 41 and m.edges[0] < m.mark_px < m.edges[-1]
    positions = sql(
        replay.db,
        "select side, notional_usd, liquidation_px from latest_positions where coin = 'SOL'",
    )
    expected = {"long": [Decimal(0)] * 40, "short": [Decimal(0)] * 40}
    beyond = {"long": Decimal(0), "short": Decimal(0)}
    for side, notional, px in positions:
        if px is None:
            continue
        inside = [i for i in range(40) if m.edges[i] <= px < m.edges[i + 1]]
        if inside:
            expected[side][inside[0]] += notional
        else:
            beyond[side] += notional
    assert list(m.long_usd) == expected["long"] and list(m.short_usd) == expected["short"]
    assert (m.beyond_long_usd, m.beyond_short_usd) == (beyond["long"], beyond["short"])
    whale_short = sql(
        replay.db,
        "select notional_usd, liquidation_px from latest_positions where coin = 'SOL' "
        "and address = $a",
        {"a": WHALE},
    )[0]
    assert whale_short[0] in m.short_usd and whale_short[1] > m.mark_px  # shorts above the mark
    assert m.beyond_short_usd > 0  # the recorded SOL short, liquidated only near 22,881
    assert list(m.short_cum_usd) == sorted(m.short_cum_usd)  # grows away from the mark, upwards
    assert list(m.long_cum_usd) == sorted(m.long_cum_usd, reverse=True)  # and downwards
    assert m.short_cum_usd[-1] == sum(m.short_usd)

    fig = liqmap.liqmap_figure(m)
    bars = fig.axes[0].containers
    assert [b.get_height() for b in bars[1]] == floats(m.short_usd)
    assert [b.get_height() for b in bars[0]] == floats(m.long_usd)
    assert "watched positions only (not a model of the whole market)" in fig.axes[0].get_title(
        loc="left"
    )
    assert float(m.mark_px) in list(fig.axes[0].lines[0].get_xdata())


def test_liqmap_png_and_terminal_bars(replay, tmp_path):
    png = tmp_path / "y.png"
    result = invoke(replay, "liqmap", "ETH", "--out", str(png))
    assert result.exit_code == 0, result.output
    assert png.stat().st_size > 10_000 and png_dimensions(png) == (1200, 650)

    bars = invoke(replay, "liqmap", "eth", "--buckets", "12")
    assert bars.exit_code == 0, bars.output
    assert "watched positions only (not a model of the whole market)" in bars.output
    rows = [line for line in bars.output.splitlines() if " – " in line]
    assert len(rows) == 12
    assert "mark 2,700.00" in bars.output and "total in range" in bars.output
    with open_store(replay.db, read_only=True) as store:
        m = liqmap.read_liqmap(store, "ETH", buckets=12)
    assert f"{sum(m.long_usd):,.0f}" in bars.output and "█" in bars.output


@pytest.mark.parametrize(
    ("args", "words"),
    [(("DOGE",), "no watched positions in DOGE"), (("ETH", "--out", "y.gif"), ".png or .svg")],
)
def test_liqmap_bad_input(replay, args, words):
    result = invoke(replay, "liqmap", *args)
    assert isinstance(result.exception, BadInput) and words in str(result.exception)


def test_liqmap_buckets_must_be_at_least_two(replay):
    assert invoke(replay, "liqmap", "ETH", "--buckets", "1").exit_code == 2


# --- report --------------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.tables: list[int] = []  # rows per table body
        self.in_body = False

    def handle_endtag(self, tag):
        if tag == "tbody":
            self.in_body = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag in ("a", "link", "script", "iframe"):
            self.links.append(tag)
        if tag == "tbody":
            self.tables.append(0)
            self.in_body = True
        if tag == "tr" and self.in_body:
            self.tables[-1] += 1


def test_report_is_one_offline_page_with_charts_and_tables(replay, tmp_path):
    result = invoke(replay, "report", "--out", str(tmp_path / "r"), "-w", "w")
    assert result.exit_code == 0, result.output
    page = tmp_path / "r" / "index.html"
    parser = _Page()
    parser.feed(page.read_text())
    assert parser.links == []  # nothing to fetch, no script
    coins = sql(replay.db, "select count(distinct coin) from latest_positions")[0][0]
    assert len(parser.images) == 3 + min(coins, 4)  # a chart per address, the largest coins' maps
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert data[:8] == PNG_MAGIC and len(data) > 10_000
    positions = sql(replay.db, "select count(*) from latest_positions")[0][0]
    accounts, rows, episodes = parser.tables
    assert (accounts, rows, episodes) == (3, positions, 1)
    assert "watched 0" in page.read_text() and "3 accounts, 3 charts" in result.output


def test_report_renders_in_headless_chromium(replay, tmp_path):
    # the README's test command installs Debian's chromium: a machine without it fails here
    assert Path("/usr/bin/chromium").exists(), "no /usr/bin/chromium: run the README's test command"
    assert invoke(replay, "report", "--out", str(tmp_path), "-w", "w").exit_code == 0
    shot = tmp_path / "shot.png"
    browse = [
        "/usr/bin/chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1300,3000",
    ]
    dom = subprocess.run(
        [*browse, "--dump-dom", (tmp_path / "index.html").as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>tracker report: w</h1>" in dom.stdout and dom.stdout.count("<img") == 6
    assert "Uncaught" not in dom.stderr and "ERROR:CONSOLE" not in dom.stderr
    taken = subprocess.run(
        [*browse, f"--screenshot={shot}", (tmp_path / "index.html").as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert taken.returncode == 0 and png_dimensions(shot) == (1300, 3000)
    assert shot.stat().st_size > 50_000  # tables and charts drawn, not a blank page


# --- end to end through `python -m tracker` (needs register(app) in tracker/cli.py) -------------


async def test_acceptance_chart_and_liqmap_as_processes(replay, tmp_path):
    chart = await run_cli("chart", WHALE, "--out", str(tmp_path / "x.png"), env=replay.env)
    assert chart.code == 0, chart.stderr
    assert (tmp_path / "x.png").stat().st_size > 10_000
    assert png_dimensions(tmp_path / "x.png")[0] == 1200
    liq = await run_cli("liqmap", "ETH", "--out", str(tmp_path / "y.png"), env=replay.env)
    assert liq.code == 0, liq.stderr
    assert (tmp_path / "y.png").stat().st_size > 10_000
    bars = await run_cli("liqmap", "SOL", env=replay.env)
    assert bars.code == 0 and "not a model of the whole market" in bars.stdout
    report = await run_cli("report", "--out", str(tmp_path / "r"), env=replay.env)
    assert report.code == 0, report.stderr
    assert (tmp_path / "r" / "index.html").is_file()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("chart", WHALE, "--coin", "DOGE", "--out", "c.png"), "no DOGE data for"),
        (("chart", WHALE, "--since", "soon", "--out", "c.png"), "--since must be an ISO 8601"),
        (("chart", WHALE, "--out", "c.bmp"), "--out must end in .png or .svg"),
        (("chart", "0xnope", "--out", "c.png"), "not an address"),
        (("liqmap", "DOGE"), "no watched positions in DOGE"),
    ],
)
async def test_bad_input_exits_2_with_one_line(replay, args, words):
    result = await run_cli(*args, env=replay.env)
    assert result.code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and words in result.stderr


def test_figures_never_touch_a_gui_backend(replay, tmp_path):
    """Even with a GUI backend configured and no display, charts draw: pyplot is never loaded."""
    db, out = str(replay.db), str(tmp_path)
    code = (
        "import sys; from pathlib import Path; from tracker.output import charts, liqmap\n"
        f"charts.write_chart(Path({db!r}), {WHALE!r}, Path({out!r}) / 'c.png')\n"
        f"liqmap.write_liqmap(Path({db!r}), 'ETH', Path({out!r}) / 'l.svg')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    env = {**replay.env, "MPLBACKEND": "TkAgg", "DISPLAY": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert png_dimensions(tmp_path / "c.png")[0] == 1200 and (tmp_path / "l.svg").is_file()


def test_time_axis_is_utc(replay):
    with open_store(replay.db, read_only=True) as store:
        series = charts.chart_series(store, WHALE)
    fig = charts.chart_figure(series)
    fig.canvas.draw()
    last = series.ts[-1]
    assert last.utcoffset() is not None and last.utcoffset().total_seconds() == 0
    axis = fig.axes[-1].xaxis
    # The offset names the last major tick (not the last point) in UTC, within the data's span.
    last_tick = mdates.num2date(axis.get_majorticklocs()[-1], tz=UTC)
    assert axis.get_major_formatter().get_offset() == f"{last_tick:%Y-%b-%d %H:%M}"
    assert abs(last_tick - last) < timedelta(hours=1)
    assert series.start == series.ts[0] < datetime.now(UTC)


# --- every reading command logs through the one set-up (tracker/logs.py) ------------------------

HOOK_TOKEN = "h00kT0kenAbcdefghij0123"  # key-like: the secret part of the webhook URL below
RPC_KEY = "rpcKEY0123456789abcdef"


def reading_commands(out: Path) -> dict[str, tuple[str, ...]]:
    return {
        "chart": ("chart", WHALE, "--out", str(out / "c.png")),
        "liqmap": ("liqmap", "ETH", "--out", str(out / "l.svg")),
        "export": ("export", "positions", "--out", str(out / "p.csv")),
        "report": ("report", "--out", str(out / "r")),
        "entity": ("entity", "show", "the whale"),
    }


async def test_reading_commands_log_at_tracker_log_level_with_secrets_redacted(replay, tmp_path):
    # The database sits in a folder named after the webhook's token, so the start-up line (which
    # names the database) carries a secret that only the filter can take out; an unknown key in
    # the watchlist makes the commands that read it warn.
    secret_dir = tmp_path / HOOK_TOKEN
    secret_dir.mkdir()
    db = secret_dir / "t.duckdb"
    db.write_bytes(replay.db.read_bytes())
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "w.toml").write_text(
        f'[[address]]\naddress = "{WHALE}"\nlabel = "whale"\nentity = "the whale"\nnick = "x"\n'
    )
    env = {
        **replay.env,
        "TRACKER_DB": str(db),
        "TRACKER_WATCHLISTS_DIR": str(lists),
        "TRACKER_WEBHOOK_URL": f"https://hooks.example.com/hook/{HOOK_TOKEN}",
        "TRACKER_ETH_RPC_URL": f"https://eth.example.com/v3/{RPC_KEY}",
    }

    async def run_all(level: str) -> dict[str, CliResult]:
        out = tmp_path / level
        out.mkdir()
        commands = reading_commands(out)
        level_env = {**env, "TRACKER_LOG_LEVEL": level}
        done = await asyncio.gather(*(run_cli(*a, env=level_env) for a in commands.values()))
        return dict(zip(commands, done, strict=True))

    for name, result in (await run_all("DEBUG")).items():
        assert result.code == 0, (name, result.stderr[-2000:])
        assert f"DEBUG tracker.logs: tracker {name}: database " in result.stderr, name
        assert "Ethereum RPC https://eth.example.com/v3/***" in result.stderr, name
        assert f"{tmp_path}/***/t.duckdb" in result.stderr, name  # redacted by the filter
        assert HOOK_TOKEN not in result.stderr and RPC_KEY not in result.stderr, name
        if name in ("chart", "report", "entity"):  # these read the watchlists
            assert "unknown key 'nick' ignored" in result.stderr, name
    for name, result in (await run_all("ERROR")).items():
        assert result.code == 0, (name, result.stderr[-2000:])
        assert result.stderr == "", name  # no DEBUG, INFO or WARNING line
