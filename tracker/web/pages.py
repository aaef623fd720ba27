"""The pages: a server-rendered shell each (no data in it), filled by static/app.js from the API.

Nothing a stranger wrote reaches these shells but an entity page's name (in its title), and that,
like the checked address, is escaped. The script inserts every label and name as text
(textContent), never as markup.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from tracker.addresses import normalise_address
from tracker.errors import BadInput

BANNER = web.AppKey("banner", str)  # a line on top of every page ("": none)
_NAV = (("/", "Overview"), ("/liquidations", "Liquidations"), ("/alerts", "Alerts"))

_OVERVIEW = """
<form id="filters" method="get" action="/">
  <label>watchlist <select name="watchlist" id="f-watchlist">
    <option value="">all</option></select></label>
  <label>tag <input name="tag" id="f-tag" size="10"></label>
  <label>entity <select name="entity" id="f-entity">
    <option value="">all</option></select></label>
  <label>coin <input name="coin" id="f-coin" size="8"></label>
  <label>cohort <select name="cohort" id="f-cohort">
    <option value="">all</option></select></label>
  <label>accounts <select name="scope" id="f-scope">
    <option value="">all</option><option value="watched">watched</option>
    <option value="universe">universe</option></select></label>
  <button type="submit">filter</button>
</form>
<table id="accounts" class="data"><thead><tr>
  <th>account</th><th>name</th><th>entity</th><th class="n">value</th><th class="n">notional</th>
  <th class="n">shock</th><th>nearest</th><th class="n">mark</th><th class="n">liq. price</th>
  <th class="n">distance</th>
</tr></thead><tbody></tbody></table>
<p id="empty" hidden>No stored accounts match: run <code>tracker snapshot</code>
  or widen the filters.</p>
"""

_ACCOUNT = """
<section id="summary" class="summary"></section>
<h2>Positions</h2>
<ul id="moves" class="moves" hidden></ul>
<table id="positions" class="data"><thead><tr>
  <th>coin</th><th>side</th><th class="n">size</th><th class="n">entry</th><th class="n">mark</th>
  <th class="n">notional</th><th class="n">uPnL</th><th class="n">ROE</th><th class="n">lev.</th>
  <th>mode</th><th class="n">liq. (ours)</th><th class="n">liq. (venue)</th>
  <th class="n">distance</th>
</tr></thead><tbody></tbody></table>
<section id="aave" hidden>
<h2>Aave v3</h2>
<section id="aave-summary" class="summary"></section>
<table id="aave-legs" class="data"><thead><tr>
  <th>asset</th><th>side</th><th class="n">amount</th><th class="n">price</th>
  <th class="n">value</th><th class="n">liq. price</th><th class="n">distance</th>
</tr></thead><tbody></tbody></table>
</section>
<section id="holdings-box" hidden>
<h2>Holdings</h2>
<table id="holdings" class="data"><thead><tr>
  <th>asset</th><th class="n">amount</th><th class="n">price</th><th class="n">value</th>
  <th class="n">block</th>
</tr></thead><tbody></tbody></table>
</section>
<h2>Account value and unrealized PnL</h2>
<div id="value-chart" class="chart"></div>
<h2 id="price-title">Mark and liquidation price</h2>
<label>coin <select id="price-coin"></select></label>
<span class="credit">markers: ▲ open/increase, ▼ reduce/close, ◆ flip (green buy, red sell),
  ● liquidation episode</span>
<div id="price-chart" class="chart"></div>
<p class="credit">Charts: TradingView Lightweight Charts&trade;, shipped with tracker.</p>
<h2>Fills</h2>
<table id="fills" class="data"><thead><tr>
  <th>time</th><th>coin</th><th>direction</th><th>side</th><th class="n">size</th>
  <th class="n">price</th><th class="n">notional</th><th class="n">closed PnL</th>
  <th class="n">fee</th><th>liquidation</th>
</tr></thead><tbody></tbody></table>
<p class="pager" data-table="fills"><button type="button" class="newer">newer</button>
  <span class="where"></span><button type="button" class="older">older</button></p>
<h2>Funding</h2>
<table id="funding" class="data"><thead><tr>
  <th>time</th><th>coin</th><th class="n">amount</th><th class="n">position</th>
  <th class="n">rate (1 h)</th>
</tr></thead><tbody></tbody></table>
<p class="pager" data-table="funding"><button type="button" class="newer">newer</button>
  <span class="where"></span><button type="button" class="older">older</button></p>
<h2>Ledger</h2>
<table id="ledger" class="data"><thead><tr>
  <th>time</th><th>kind</th><th class="n">amount</th><th class="n">liquidated notional</th>
  <th>margin</th><th>hash</th>
</tr></thead><tbody></tbody></table>
<p class="pager" data-table="ledger"><button type="button" class="newer">newer</button>
  <span class="where"></span><button type="button" class="older">older</button></p>
"""

_LIQUIDATIONS = """
<table id="liquidations" class="data"><thead><tr>
  <th>ended</th><th>account</th><th>coin</th><th>side</th><th class="n">notional</th>
  <th class="n">mark</th><th>method</th><th class="n">fills</th>
</tr></thead><tbody></tbody></table>
<h2>Per UTC day, venue and coin</h2>
<table id="liquidations-daily" class="data"><thead><tr>
  <th>day</th><th>venue</th><th>coin</th><th class="n">episodes</th><th class="n">notional</th>
  <th class="n">longs</th><th class="n">shorts</th><th>largest</th>
  <th class="n">largest notional</th>
</tr></thead><tbody></tbody></table>
"""

_ALERTS = """
<table id="alerts" class="data"><thead><tr>
  <th>time</th><th>kind</th><th>severity</th><th>account</th><th>coin</th><th>message</th>
  <th>delivered to</th>
</tr></thead><tbody></tbody></table>
"""


_ENTITY = """
<section id="summary" class="summary"></section>
<h2>Addresses</h2>
<table id="members" class="data"><thead><tr>
  <th>account</th><th>address</th>
</tr></thead><tbody></tbody></table>
<h2>Notional by venue</h2>
<table id="venues" class="data"><thead><tr>
  <th>venue</th><th class="n">notional</th>
</tr></thead><tbody></tbody></table>
<h2>Net exposure</h2>
<table id="exposure" class="data"><thead><tr>
  <th>asset</th><th class="n">USD</th>
</tr></thead><tbody></tbody></table>
<h2>Positions</h2>
<table id="entity-positions" class="data"><thead><tr>
  <th>account</th><th>venue</th><th>coin</th><th>side</th><th class="n">size</th>
  <th class="n">mark</th><th class="n">notional</th><th class="n">liq. price</th>
  <th class="n">distance</th>
</tr></thead><tbody></tbody></table>
<h2>Holdings</h2>
<table id="entity-holdings" class="data"><thead><tr>
  <th>account</th><th>asset</th><th class="n">amount</th><th class="n">value</th>
</tr></thead><tbody></tbody></table>
"""

_MARKET = """
<section id="market-summary" class="summary"></section>
<h2>Tracked positions by cohort</h2>
<table id="cohorts" class="data"><thead><tr>
  <th>kind</th><th>cohort</th><th class="n">longs</th><th class="n">shorts</th>
  <th class="n">accounts long</th><th class="n">accounts short</th>
  <th class="n">long % of OI</th><th class="n">short % of OI</th>
</tr></thead><tbody></tbody></table>
<h2>Largest tracked positions</h2>
<table id="largest" class="data"><thead><tr>
  <th>account</th><th>side</th><th class="n">size</th><th class="n">notional</th>
  <th class="n">entry</th><th class="n">liq. price</th><th class="n">distance</th>
</tr></thead><tbody></tbody></table>
<h2>Liquidation map of tracked positions</h2>
<p id="liqmap-note" class="credit"></p>
<table id="liqmap" class="data liqmap"><thead><tr>
  <th class="n">price</th><th class="n">longs liquidated</th><th></th>
  <th class="n">shorts liquidated</th><th></th>
</tr></thead><tbody></tbody></table>
<h2>Nearest liquidation clusters</h2>
<table id="clusters" class="data"><thead><tr>
  <th>side</th><th class="n">from</th><th class="n">to</th><th class="n">notional</th>
  <th class="n">distance</th>
</tr></thead><tbody></tbody></table>
<h2>Recent position changes</h2>
<table id="changes" class="data"><thead><tr>
  <th>time</th><th>account</th><th>kind</th><th>side</th><th class="n">size</th>
  <th class="n">price</th><th class="n">notional</th>
</tr></thead><tbody></tbody></table>
<h2>Recent liquidations</h2>
<table id="market-liquidations" class="data"><thead><tr>
  <th>started</th><th>account</th><th>side</th><th class="n">notional</th><th class="n">mark</th>
  <th>method</th>
</tr></thead><tbody></tbody></table>
"""


def shell(
    page: str,
    title: str,
    body: str,
    *,
    address: str = "",
    charts: bool = False,
    banner: str = "",
) -> str:
    """A whole page: banner, header with navigation and the stream's state, body, scripts."""
    nav = "".join(f'<a href="{href}">{escape(name)}</a>' for href, name in _NAV)
    scripts = '<script src="/static/lightweight-charts.standalone.production.js"></script>'
    top = f'<p id="banner" class="banner">{escape(banner)}</p>' if banner else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - tracker</title>"
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/style.css"></head>'
        f'<body data-page="{escape(page)}" data-address="{escape(address)}">'
        f"{top}"
        f"<header><strong>tracker</strong><nav>{nav}</nav>"
        '<span id="live" class="live">connecting</span></header>'
        f'<main><h1 id="title">{escape(title)}</h1>{body}</main>'
        f'{scripts if charts else ""}<script src="/static/app.js"></script>'
        "</body></html>\n"
    )


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", headers={"Cache-Control": "no-store"})


async def overview(request: web.Request) -> web.Response:
    """GET /: accounts sorted by risk."""
    return _html(shell("overview", "Accounts by risk", _OVERVIEW, banner=request.app[BANNER]))


async def account(request: web.Request) -> web.Response:
    """GET /accounts/{address}: positions, value and price charts."""
    address = normalise_address(request.match_info["address"])
    banner = request.app[BANNER]
    return _html(shell("account", address, _ACCOUNT, address=address, charts=True, banner=banner))


async def liquidations(request: web.Request) -> web.Response:
    """GET /liquidations: the episodes feed."""
    return _html(shell("liquidations", "Liquidations", _LIQUIDATIONS, banner=request.app[BANNER]))


async def alerts(request: web.Request) -> web.Response:
    """GET /alerts: the alert feed."""
    return _html(shell("alerts", "Alerts", _ALERTS, banner=request.app[BANNER]))


async def entity(request: web.Request) -> web.Response:
    """GET /entity/{name}: one actor's addresses across venues (the name is escaped, as all)."""
    name = request.match_info["name"]
    if not name.isprintable() or len(name) > 200:
        raise BadInput("entity must be printable text of at most 200 characters")
    return _html(shell("entity", name, _ENTITY, banner=request.app[BANNER]))


async def market(request: web.Request) -> web.Response:
    """GET /market/{coin}: what `tracker market COIN` shows, with the liquidation map."""
    from tracker.output.market import split_coin

    _, coin = split_coin(request.match_info["coin"], None)  # BadInput (400) for no coin name
    return _html(shell("market", f"{coin} market", _MARKET, banner=request.app[BANNER]))
