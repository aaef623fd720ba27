// tracker's pages: fetch the JSON API, render tables, follow /api/stream. Text from strangers
// (labels, display names, messages) is only ever set with textContent, never parsed as markup.
"use strict";

const DANGER_PCT = [2, 5, 10]; // as the terminal: red under 2 %, orange under 5 %, yellow under 10 %
const STALE_MS = 15000; // the server pings every 5 s: three missed pings is a stale stream
const page = document.body.dataset.page;
const address = document.body.dataset.address;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function num(value) {
  return value === null || value === undefined ? null : Number(value);
}

function usd(value, signed) {
  const x = num(value);
  if (x === null || Number.isNaN(x)) return "-";
  const a = Math.abs(x);
  const [d, s] = a >= 1e9 ? [1e9, "B"] : a >= 1e6 ? [1e6, "M"] : a >= 1e3 ? [1e3, "K"] : [1, ""];
  const body = "$" + (a / d).toFixed(2) + s;
  return (x < 0 ? "-" : signed && x > 0 ? "+" : "") + body;
}

function px(value) {
  const x = num(value);
  if (x === null) return "-";
  const a = Math.abs(x);
  const places = a >= 1000 ? 2 : a >= 1 ? 4 : 8;
  return x.toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
}

function pct(value, signed, places = 2) {
  const x = num(value);
  if (x === null) return "-";
  return (signed && x > 0 ? "+" : "") + x.toFixed(places) + "%";
}

function danger(value) {
  const x = num(value);
  if (x === null) return "safe";
  if (x < DANGER_PCT[0]) return "critical";
  if (x < DANGER_PCT[1]) return "high";
  if (x < DANGER_PCT[2]) return "warn";
  return "safe";
}

function signClass(value) {
  const x = num(value);
  return x === null || x === 0 ? "" : x > 0 ? "up" : "down";
}

function short(a) {
  return a ? a.slice(0, 6) + "…" + a.slice(-4) : "-";
}

function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-";
}

function cell(row, text, cls) {
  const td = el("td", text, cls);
  row.appendChild(td);
  return td;
}

function accountLink(addr, label) {
  const a = el("a", label || short(addr));
  a.href = "/accounts/" + encodeURIComponent(addr);
  a.title = addr;
  return a;
}

function entityLink(name) {
  const a = el("a", name);
  a.href = "/entity/" + encodeURIComponent(name);
  return a;
}

function marketLink(coin) {
  const a = el("a", coin);
  a.href = "/market/" + encodeURIComponent(coin);
  return a;
}

function fill(table, rows, build) {
  const body = document.querySelector(table + " tbody");
  const fresh = document.createElement("tbody");
  for (const row of rows) fresh.appendChild(build(row));
  body.replaceWith(fresh);
}

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const doc = await response.json();
  if (!response.ok) throw new Error(doc.error || response.statusText);
  return doc;
}

function problem(message) {
  let box = document.getElementById("problem");
  if (!box) {
    box = el("p", null, "problem");
    box.id = "problem";
    document.querySelector("main").prepend(box);
  }
  box.textContent = message;
  box.hidden = !message;
}

// --- overview ---------------------------------------------------------------------------------

async function overview() {
  const query = new URLSearchParams(location.search);
  for (const [k, v] of [...query]) if (!v) query.delete(k);
  const rows = await getJSON("/api/accounts" + (query.size ? "?" + query : ""));
  fill("#accounts", rows, (r) => {
    const tr = el("tr");
    tr.dataset.address = r.address;
    cell(tr, null, "account").appendChild(accountLink(r.address, r.label));
    cell(tr, r.display_name || "", "name");
    const entity = cell(tr, null, "entity");
    if (r.entity) entity.appendChild(entityLink(r.entity));
    for (const name of ["value", "notional", "shock", "coin", "mark", "liq", "distance"]) {
      cell(tr, null, name === "coin" ? name : "n " + name);
    }
    overviewFigures(tr, r);
    return tr;
  });
  shownAt = Date.now();
  shownRows = new Map([...document.querySelectorAll("#accounts tbody tr")].map((tr) => [tr.dataset.address, tr]));
  document.getElementById("empty").hidden = rows.length > 0;
}

function overviewFigures(tr, r) {
  // the figures of one overview row: from /api/accounts, or from the live book (same keys)
  const put = (name, text, cls) => {
    const td = tr.querySelector("td." + name);
    td.textContent = text;
    if (cls !== undefined) td.className = cls;
    return td;
  };
  put("value", usd(r.account_value_usd));
  put("notional", usd(r.notional_usd));
  const shock = num(r.shock_to_liq_pct);
  put("shock", pct(shock, true), "n shock " + danger(Math.abs(shock ?? Infinity)));
  const nearest = put("coin", r.coin ? "" : "-");
  if (r.coin) nearest.append(marketLink(r.coin), " " + r.side);
  put("mark", px(r.mark_px));
  put("liq", px(r.liquidation_px));
  put("distance", pct(r.distance_to_liq_pct), "n distance " + danger(r.distance_to_liq_pct));
}

function liveRows(rows) {
  for (const r of rows) {
    const tr = shownRows.get(r.address);
    if (tr) overviewFigures(tr, r);
  }
}

async function overviewFilters() {
  const query = new URLSearchParams(location.search);
  const select = document.getElementById("f-watchlist");
  for (const w of await getJSON("/api/watchlists")) {
    const option = el("option", w.name + " (" + w.addresses + ")");
    option.value = w.name;
    select.appendChild(option);
  }
  select.value = query.get("watchlist") || "";
  document.getElementById("f-tag").value = query.get("tag") || "";
  const entities = document.getElementById("f-entity");
  for (const e of await getJSON("/api/entities")) {
    entities.appendChild(Object.assign(el("option", e.entity + " (" + e.addresses + ")"), { value: e.entity }));
  }
  entities.value = query.get("entity") || "";
  document.getElementById("f-coin").value = query.get("coin") || "";
  document.getElementById("f-scope").value = query.get("scope") || "";
  const cohort = document.getElementById("f-cohort");
  const groups = new Map(); // kind -> its <optgroup>, in the API's order
  for (const c of await getJSON("/api/cohorts")) {
    if (!groups.has(c.kind)) {
      const group = el("optgroup");
      group.label = c.kind.replace(/_/g, " ");
      groups.set(c.kind, cohort.appendChild(group));
    }
    groups.get(c.kind).appendChild(Object.assign(el("option", c.cohort), { value: c.cohort }));
  }
  cohort.value = query.get("cohort") || "";
}

// --- account ----------------------------------------------------------------------------------

let charts = null;

async function account() {
  const [doc, rows] = await Promise.all([
    getJSON("/api/accounts/" + address),
    getJSON("/api/accounts?address=" + address),
  ]);
  const who = rows[0] || {};
  const title = document.getElementById("title");
  title.textContent = who.label || short(address);
  title.title = address;
  const summary = document.getElementById("summary");
  summary.replaceChildren();
  const facts = [
    ["address", address, ""],
    ["leaderboard name", who.display_name || "-", "name"],
    ["value", usd(who.account_value_usd), "value"],
    ["notional", usd(who.notional_usd), "notional"],
    ["shock to liquidation", pct(who.shock_to_liq_pct, true), "shock"],
    ["as of", when(doc.time), "time"],
  ];
  for (const [name, text, cls] of facts) fact(summary, name, text, cls);
  if (who.entity) fact(summary, "entity", null, "entity").lastChild.appendChild(entityLink(who.entity));
  fill("#positions", doc.positions, positionRow);
  ethereumSide(doc);
  await Promise.all([
    getJSON("/api/accounts/" + address + "/history").then(drawCharts),
    ...Object.keys(offsets).map(records),
  ]);
}

function healthFactor(a) {
  // Aave's health factor, Σ collateral × liquidation threshold / debt, from the stored account:
  // its maintenance margin is Σ collateral × (1 − threshold), its value collateral − debt
  const debt = num(a.notional_usd) - num(a.account_value_usd);
  return debt > 0 ? (num(a.notional_usd) - num(a.maintenance_margin_usd)) / debt : null;
}

function ethereumSide(doc) {
  // the Aave v3 account (venue "aave-v3" in the watch document) and the on-chain holdings
  const aave = doc.accounts.filter((a) => a.venue === "aave-v3");
  document.getElementById("aave").hidden = aave.length === 0;
  const box = document.getElementById("aave-summary");
  box.replaceChildren();
  for (const a of aave) {
    const hf = healthFactor(a);
    const facts = [
      ["collateral", usd(a.notional_usd), "collateral"],
      ["debt", usd(num(a.notional_usd) - num(a.account_value_usd)), "debt"],
      ["net value", usd(a.account_value_usd), "net"],
      ["health factor", hf === null ? "-" : hf.toFixed(3), "health" + (hf !== null && hf < 1.1 ? " down" : "")],
      ["borrowable", usd(a.withdrawable_usd), "borrowable"],
      ["shock to liquidation", pct(a.shock_to_liq_pct, true), "shock"],
      ["block time", when(a.venue_time), "time"],
    ];
    for (const [name, text, cls] of facts) fact(box, name, text, cls);
  }
  fill("#aave-legs", doc.positions.filter((p) => p.venue === "aave-v3"), (p) => {
    const tr = el("tr");
    tr.dataset.coin = p.coin;
    cell(tr, p.coin, "coin");
    cell(tr, p.side === "long" ? "collateral" : "debt", p.side === "long" ? "up" : "down");
    cell(tr, num(p.size).toLocaleString("en-US", { maximumFractionDigits: 4 }), "n size");
    cell(tr, px(p.mark_px), "n");
    cell(tr, usd(p.notional_usd), "n notional");
    cell(tr, px(p.liquidation_px), "n liq");
    cell(tr, pct(p.distance_to_liq_pct), "n distance " + danger(p.distance_to_liq_pct));
    return tr;
  });
  document.getElementById("holdings-box").hidden = doc.holdings.length === 0;
  fill("#holdings", doc.holdings, (h) => {
    const tr = el("tr");
    cell(tr, h.asset, "asset");
    cell(tr, num(h.amount).toLocaleString("en-US", { maximumFractionDigits: 6 }), "n amount");
    cell(tr, px(h.price_usd), "n");
    cell(tr, usd(h.usd_value), "n value");
    cell(tr, h.block_number, "n");
    return tr;
  });
}

function positionRow(p) {
  const tr = el("tr");
  tr.dataset.coin = p.coin;
  cell(tr, null, "coin").appendChild(marketLink(p.coin));
  cell(tr, p.side, p.side === "long" ? "up" : "down");
  cell(tr, num(p.size).toLocaleString("en-US", { maximumFractionDigits: 4 }), "n size");
  cell(tr, px(p.entry_px), "n");
  for (const name of ["mark", "notional", "pnl", "roe"]) cell(tr, null, "n " + name);
  cell(tr, p.leverage + "x", "n");
  cell(tr, p.margin_mode);
  cell(tr, null, "n liq");
  cell(tr, px(p.venue_liquidation_px), "n");
  cell(tr, null, "n distance");
  positionFigures(tr, p);
  return tr;
}

function positionFigures(tr, p) {
  // the figures the live book moves with each mark, set in place
  const put = (name, text, cls) => {
    const td = tr.querySelector("td." + name);
    if (td.textContent !== text) td.textContent = text;
    td.className = "n " + name + (cls ? " " + cls : "");
  };
  put("mark", px(p.mark_px));
  put("notional", usd(p.notional_usd));
  put("pnl", usd(p.unrealized_pnl, true), signClass(p.unrealized_pnl));
  put("roe", p.roe === null ? "-" : pct(num(p.roe) * 100, true), signClass(p.roe));
  put("liq", px(p.liquidation_px));
  put("distance", pct(p.distance_to_liq_pct), danger(p.distance_to_liq_pct));
}

function liveAccount(doc) {
  // `tracker watch --once --json` of this account at the live book's marks
  if (doc.address !== address) return;
  const rows = document.querySelectorAll("#positions tbody tr");
  const same = rows.length === doc.positions.length &&
    doc.positions.every((p, i) => rows[i].dataset.coin === p.coin &&
      rows[i].querySelector("td.size").textContent ===
        num(p.size).toLocaleString("en-US", { maximumFractionDigits: 4 }));
  if (same) doc.positions.forEach((p, i) => positionFigures(rows[i], p));
  else fill("#positions", doc.positions, positionRow); // opened, closed or resized: redrawn
  const sum = (key) => doc.accounts.reduce((total, a) => total + num(a[key]), 0);
  const shocks = doc.accounts.map((a) => num(a.shock_to_liq_pct)).filter((x) => x !== null);
  const shock = shocks.length ? shocks.reduce((a, b) => (Math.abs(b) < Math.abs(a) ? b : a)) : null;
  const fact = (cls, text) => {
    const v = document.querySelector("#summary .fact." + cls + " .v");
    if (v) v.textContent = text;
  };
  fact("value", usd(sum("account_value_usd")));
  fact("notional", usd(sum("notional_usd")));
  fact("shock", pct(shock, true));
  fact("time", when(doc.time) + " (live)");
}

function liveMove(change) {
  // a position change from the tape or a refresh, as it happens
  if (change.address !== address) return;
  const list = document.getElementById("moves");
  const text = when(change.ts) + " " + change.coin + " " + change.kind + ": " +
    num(change.size_before) + " → " + num(change.size_after) + " at " + px(change.price) +
    " (" + change.source + ")";
  list.prepend(el("li", text));
  while (list.children.length > 20) list.lastChild.remove();
  list.hidden = false;
}

function points(ts, values) {
  const byTime = new Map(); // one point per second (the chart's resolution), the last one wins
  ts.forEach((t, i) => {
    if (values[i] !== null) byTime.set(Math.floor(Date.parse(t) / 1000), Number(values[i]));
  });
  return [...byTime].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

function newChart(id) {
  const box = document.getElementById(id);
  return LightweightCharts.createChart(box, {
    height: 280,
    autoSize: true,
    layout: { background: { color: "#11161c" }, textColor: "#c9d1d9" },
    grid: { vertLines: { color: "#1f2730" }, horzLines: { color: "#1f2730" } },
    timeScale: { timeVisible: true, secondsVisible: true },
    rightPriceScale: { borderVisible: false },
    leftPriceScale: { visible: true, borderVisible: false },
  });
}

const EVENT_SHAPE = { open: "arrowUp", increase: "arrowUp", reduce: "arrowDown", close: "arrowDown", flip: "square" };
let history = null;
let priceCoin = null; // the coin the price chart shows (the select's value)

function second(iso) {
  return Math.floor(Date.parse(iso) / 1000);
}

function coinMarkers(coin) {
  // each marker sits at its own price: the order's average price, the mark at a liquidation
  const markers = [];
  for (const e of coin.events) {
    markers.push({
      time: second(e.ts),
      position: "atPriceMiddle",
      price: num(e.avg_px),
      shape: EVENT_SHAPE[e.kind] || "circle",
      color: e.side === "buy" ? "#3fb950" : "#f85149",
      text: e.kind + (e.liquidation ? " (liq.)" : ""),
    });
  }
  const lastMark = coin.mark_px.length ? num(coin.mark_px[coin.mark_px.length - 1]) : null;
  for (const l of coin.liquidations) {
    const price = l.mark_px === null ? lastMark : num(l.mark_px);
    if (price === null) continue; // nowhere to put it on a price axis
    markers.push({
      time: second(l.start),
      position: "atPriceMiddle",
      price,
      shape: "circle",
      color: "#ffffff",
      text: "liquidated " + usd(l.notional_usd) + " (" + l.method + ")",
    });
  }
  return markers.sort((a, b) => a.time - b.time);
}

function drawPrice() {
  const coin = history.coins.find((c) => c.coin === priceCoin);
  document.getElementById("price-title").textContent = coin
    ? coin.coin + ": mark and liquidation price"
    : "No positions in the stored history";
  const markers = coin ? coinMarkers(coin) : [];
  charts.mark.setData(coin ? points(coin.ts, coin.mark_px) : []);
  charts.liq.setData(coin ? points(coin.ts, coin.liquidation_px) : []);
  charts.venue.setData(coin ? points(coin.ts, coin.venue_liquidation_px) : []);
  // an invisible series through the markers' prices carries them: it puts their times on the
  // axis and their prices in the scale, also for a coin no snapshot held (closed in between)
  const at = new Map(markers.map((m) => [m.time, m.price]));
  charts.trades.setData([...at].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value })));
  charts.markers.setMarkers(markers);
  document.getElementById("price-chart").dataset.markers = String(markers.length);
  charts.charts[1].timeScale().fitContent();
}

async function drawCharts(doc) {
  if (typeof LightweightCharts === "undefined") return;
  if (!charts) {
    const value = newChart("value-chart");
    const price = newChart("price-chart");
    const line = LightweightCharts.LineSeries;
    const trades = price.addSeries(line, {
      lineVisible: false,
      pointMarkersVisible: false,
      lastValueVisible: false,
      priceLineVisible: false,
      crosshairMarkerVisible: false,
    });
    charts = {
      value: value.addSeries(line, { color: "#58a6ff", title: "value", priceScaleId: "right" }),
      pnl: value.addSeries(line, { color: "#d29922", title: "uPnL", priceScaleId: "left" }),
      mark: price.addSeries(line, { color: "#c9d1d9", title: "mark" }),
      liq: price.addSeries(line, { color: "#f85149", title: "liq. (ours)" }),
      venue: price.addSeries(line, { color: "#db6d28", title: "liq. (venue)", lineStyle: 2 }),
      trades,
      markers: LightweightCharts.createSeriesMarkers(trades, []),
      charts: [value, price],
    };
    document.getElementById("price-coin").addEventListener("change", (e) => {
      priceCoin = e.target.value;
      drawPrice();
    });
  }
  history = doc;
  charts.value.setData(points(doc.ts, doc.account_value_usd));
  charts.pnl.setData(points(doc.ts, doc.unrealized_pnl_usd));
  charts.charts[0].timeScale().fitContent();
  const names = doc.coins.map((c) => c.coin);
  if (!names.includes(priceCoin)) priceCoin = names[0] || null;
  const select = document.getElementById("price-coin");
  select.replaceChildren(...names.map((n) => Object.assign(el("option", n), { value: n })));
  select.value = priceCoin || "";
  drawPrice();
}

// --- fills, funding, ledger -------------------------------------------------------------------

const PAGE_ROWS = 25;
const offsets = { fills: 0, funding: 0, ledger: 0 };
const RECORD_ROWS = {
  fills: (f) => {
    const tr = el("tr");
    cell(tr, when(f.ts), "time");
    cell(tr, null, "coin").appendChild(marketLink(f.coin));
    cell(tr, f.direction || "-");
    cell(tr, f.side, f.side === "buy" ? "up" : "down");
    cell(tr, num(f.size).toLocaleString("en-US", { maximumFractionDigits: 6 }), "n");
    cell(tr, px(f.px), "n");
    cell(tr, usd(f.notional_usd), "n");
    cell(tr, usd(f.closed_pnl_usd, true), "n " + signClass(f.closed_pnl_usd));
    cell(tr, f.fee === null ? "-" : num(f.fee).toFixed(4) + " " + (f.fee_token || ""), "n");
    cell(tr, f.liquidation_method || "");
    return tr;
  },
  funding: (f) => {
    const tr = el("tr");
    cell(tr, when(f.ts), "time");
    cell(tr, null, "coin").appendChild(marketLink(f.coin));
    cell(tr, usd(f.amount_usd, true), "n " + signClass(f.amount_usd));
    cell(tr, f.position_size === null ? "-" : num(f.position_size).toLocaleString("en-US"), "n");
    cell(tr, f.funding_rate === null ? "-" : pct(num(f.funding_rate) * 100, true, 4), "n");
    return tr;
  },
  ledger: (l) => {
    const tr = el("tr");
    cell(tr, when(l.ts), "time");
    cell(tr, l.kind, "kind");
    cell(tr, usd(l.amount_usd, true), "n " + signClass(l.amount_usd));
    cell(tr, l.liquidated_notional_usd === null ? "" : usd(l.liquidated_notional_usd), "n");
    cell(tr, l.leverage_type || "");
    cell(tr, l.hash ? short(l.hash) : "", "hash");
    return tr;
  },
};

async function records(table) {
  const query = "?limit=" + PAGE_ROWS + "&offset=" + offsets[table];
  const doc = await getJSON("/api/accounts/" + address + "/" + table + query);
  fill("#" + table, doc.rows, RECORD_ROWS[table]);
  const pager = document.querySelector('.pager[data-table="' + table + '"]');
  pager.querySelector(".newer").disabled = doc.offset === 0;
  pager.querySelector(".older").disabled = doc.next_offset === null;
  pager.querySelector(".where").textContent = doc.rows.length
    ? "rows " + (doc.offset + 1) + "–" + (doc.offset + doc.rows.length)
    : doc.offset ? "no more rows" : "none stored";
  pager.dataset.next = doc.next_offset === null ? "" : String(doc.next_offset);
}

function pagers() {
  for (const pager of document.querySelectorAll(".pager")) {
    const table = pager.dataset.table;
    pager.querySelector(".older").addEventListener("click", () => {
      offsets[table] = Number(pager.dataset.next);
      records(table).catch((e) => problem(e.message));
    });
    pager.querySelector(".newer").addEventListener("click", () => {
      offsets[table] = Math.max(0, offsets[table] - PAGE_ROWS);
      records(table).catch((e) => problem(e.message));
    });
  }
}

// --- market -----------------------------------------------------------------------------------

const coin = page === "market" ? decodeURIComponent(location.pathname.split("/")[2]) : null;

function fact(box, name, text, cls) {
  const item = el("div", null, "fact " + (cls || ""));
  item.appendChild(el("span", name, "k"));
  item.appendChild(el("span", text, "v"));
  return box.appendChild(item);
}

function share(value) {
  return value === null ? "-" : pct(num(value) * 100);
}

async function market() {
  const path = "/api/market/" + encodeURIComponent(coin);
  const [doc, map] = await Promise.all([getJSON(path), getJSON(path + "/liqmap")]);
  const summary = document.getElementById("market-summary");
  summary.replaceChildren();
  const t = doc.tracked;
  for (const [name, text, cls] of [
    ["mark", px(doc.mark_px), "mark"],
    ["oracle", px(doc.oracle_px), ""],
    ["funding (1 h)", doc.funding_rate_hourly === null ? "-" : pct(num(doc.funding_rate_hourly) * 100, true, 4), ""],
    ["funding APR", doc.funding_apr === null ? "-" : pct(num(doc.funding_apr) * 100, true), ""],
    ["open interest", usd(doc.open_interest_usd), ""],
    ["24 h volume", usd(doc.volume_24h_usd), ""],
    ["tracked longs", usd(t.long_notional_usd) + " · " + t.accounts_long + " accounts", "tracked-long"],
    ["tracked shorts", usd(t.short_notional_usd) + " · " + t.accounts_short + " accounts", "tracked-short"],
  ]) fact(summary, name, text, cls);
  fill("#cohorts", doc.cohorts, (c) => {
    const tr = el("tr");
    cell(tr, c.kind.replace(/_/g, " "));
    cell(tr, c.cohort);
    cell(tr, usd(c.long_notional_usd), "n up");
    cell(tr, usd(c.short_notional_usd), "n down");
    cell(tr, c.accounts_long, "n");
    cell(tr, c.accounts_short, "n");
    cell(tr, share(c.share_of_oi.long), "n");
    cell(tr, share(c.share_of_oi.short), "n");
    return tr;
  });
  fill("#largest", doc.largest_positions, (r) => {
    const tr = el("tr");
    tr.dataset.address = r.address;
    cell(tr, null).appendChild(accountLink(r.address, r.label));
    cell(tr, r.side, r.side === "long" ? "up" : "down");
    cell(tr, num(r.size).toLocaleString("en-US", { maximumFractionDigits: 4 }), "n");
    cell(tr, usd(r.notional_usd), "n");
    cell(tr, px(r.entry_px), "n");
    cell(tr, px(r.liquidation_px), "n liq");
    cell(tr, pct(r.distance_to_liq_pct), "n distance " + danger(r.distance_to_liq_pct));
    return tr;
  });
  drawLiqmap(map);
  fill("#clusters", doc.liquidation_clusters, (c) => {
    const tr = el("tr");
    cell(tr, c.side, c.side === "long" ? "up" : "down");
    cell(tr, px(c.price_low), "n");
    cell(tr, px(c.price_high), "n");
    cell(tr, usd(c.notional_usd), "n");
    cell(tr, pct(c.distance_pct, true), "n " + danger(Math.abs(num(c.distance_pct))));
    return tr;
  });
  fill("#changes", doc.recent_position_changes, (r) => {
    const tr = el("tr");
    cell(tr, when(r.ts), "time");
    cell(tr, null).appendChild(accountLink(r.address, r.label));
    cell(tr, r.kind + (r.liquidation ? " (liquidation)" : ""));
    cell(tr, r.side, r.side === "buy" ? "up" : "down");
    cell(tr, num(r.size).toLocaleString("en-US", { maximumFractionDigits: 4 }), "n");
    cell(tr, px(r.avg_px), "n");
    cell(tr, usd(r.notional_usd), "n");
    return tr;
  });
  fill("#market-liquidations", doc.recent_liquidations, (r) => {
    const tr = el("tr");
    cell(tr, when(r.start_ts), "time");
    cell(tr, null).appendChild(accountLink(r.address, r.label));
    cell(tr, r.side || "-", r.side === "long" ? "up" : "down");
    cell(tr, usd(r.notional_usd), "n");
    cell(tr, px(r.mark_px), "n");
    cell(tr, r.method);
    return tr;
  });
}

function bar(value, peak, cls) {
  const span = el("span", null, "bar " + cls);
  span.style.width = (peak > 0 ? (100 * num(value)) / peak : 0).toFixed(1) + "%";
  return span;
}

function drawLiqmap(map) {
  const note = document.getElementById("liqmap-note");
  if (!map.buckets.length) {
    note.textContent = "No tracked position in " + map.coin + " (" + map.caveat + ").";
    fill("#liqmap", [], () => null);
    return;
  }
  note.textContent =
    map.caveat + "; as of " + when(map.as_of) + "; " + map.positions + " positions of " +
    map.accounts + " accounts within ±" + num(map.range_pct).toFixed(0) + "% of the mark";
  const peak = Math.max(1, ...map.buckets.flatMap((b) => [num(b.long_usd), num(b.short_usd)]));
  const mark = num(map.mark_px);
  const rows = [...map.buckets].reverse(); // highest price first, as the terminal's map
  let marked = false;
  const body = [];
  for (const b of rows) {
    if (!marked && num(b.price_low) < mark) {
      body.push({ mark: true });
      marked = true;
    }
    body.push(b);
  }
  fill("#liqmap", body, (b) => {
    const tr = el("tr", null, b.mark ? "mark-row" : "");
    if (b.mark) {
      const td = cell(tr, "mark " + px(mark), "n mark");
      td.colSpan = 5;
      return tr;
    }
    cell(tr, px(b.price_low) + " – " + px(b.price_high), "n");
    cell(tr, num(b.long_usd) ? usd(b.long_usd) : "", "n long");
    cell(tr, null, "bar-cell").appendChild(bar(b.long_usd, peak, "long"));
    cell(tr, num(b.short_usd) ? usd(b.short_usd) : "", "n short");
    cell(tr, null, "bar-cell").appendChild(bar(b.short_usd, peak, "short"));
    return tr;
  });
}

// --- feeds ------------------------------------------------------------------------------------

async function liquidations() {
  fill("#liquidations", await getJSON("/api/liquidations"), liquidationRow);
  fill("#liquidations-daily", await getJSON("/api/liquidations/daily"), dailyRow);
}

function dailyRow(r) {
  const tr = el("tr");
  cell(tr, r.day, "time");
  cell(tr, r.venue);
  cell(tr, r.coin);
  cell(tr, r.count, "n");
  cell(tr, usd(r.notional_usd), "n");
  cell(tr, usd(r.long_notional_usd), "n up");
  cell(tr, usd(r.short_notional_usd), "n down");
  cell(tr, null).appendChild(accountLink(r.largest.address, r.largest.label));
  cell(tr, usd(r.largest.notional_usd), "n");
  return tr;
}

function liquidationRow(r) {
  const tr = el("tr");
  tr.dataset.key = r.episode_id;
  cell(tr, when(r.end), "time");
  cell(tr, null).appendChild(accountLink(r.address, r.label));
  cell(tr, r.coin);
  cell(tr, r.side || "-", r.side === "long" ? "up" : "down");
  cell(tr, usd(r.notional_usd), "n");
  cell(tr, px(r.mark_px), "n");
  cell(tr, r.method);
  cell(tr, r.fills, "n");
  return tr;
}

async function alerts() {
  fill("#alerts", await getJSON("/api/alerts?limit=200"), alertRow);
}

function alertRow(r) {
  const tr = el("tr", null, "severity-" + r.severity);
  tr.dataset.key = r.id;
  cell(tr, when(r.time), "time");
  cell(tr, r.kind);
  cell(tr, r.severity);
  cell(tr, null).appendChild(accountLink(r.address, r.label));
  cell(tr, r.coin || "-");
  cell(tr, r.message, "message");
  cell(tr, [...r.delivered_to, ...r.failed_sinks.map((s) => s + " (failed)")].join(", "));
  return tr;
}

function pushed(table, build) {
  // a new alert or episode from the stream, on top (an extended episode replaces its row)
  return (r) => {
    const body = document.querySelector(table + " tbody");
    if (!body) return;
    const row = build(r);
    row.classList.add("new");
    for (const old of body.querySelectorAll("tr")) if (old.dataset.key === row.dataset.key) old.remove();
    body.prepend(row);
  };
}

// --- entity -----------------------------------------------------------------------------------

const entityName = page === "entity" ? decodeURIComponent(location.pathname.split("/")[2]) : null;

async function entity() {
  // `tracker entity show NAME --json`: the actor's addresses, notional, exposure, nearest liquidation
  const doc = await getJSON("/api/entities/" + encodeURIComponent(entityName));
  const labels = new Map(doc.addresses.map((a) => [a.address, a.label]));
  const summary = document.getElementById("summary");
  summary.replaceChildren();
  const near = doc.nearest_liquidation;
  const facts = [
    ["addresses", doc.addresses.length, "count"],
    ["total notional", usd(doc.total_notional_usd), "notional"],
    ["account value", usd(doc.account_value_usd), "value"],
    ["nearest liquidation", near ? near.venue + " " + near.coin + " " + near.side + " at " +
      px(near.liquidation_px) : "-", "nearest"],
    ["distance", near ? pct(near.distance_to_liq_pct) : "-",
      "distance " + (near ? danger(near.distance_to_liq_pct) : "")],
    ["as of", when(doc.as_of), "time"],
  ];
  for (const [name, text, cls] of facts) fact(summary, name, text, cls);
  fill("#members", doc.addresses, (a) => {
    const tr = el("tr");
    tr.dataset.address = a.address;
    cell(tr, null, "account").appendChild(accountLink(a.address, a.label));
    cell(tr, a.address, "address");
    return tr;
  });
  fill("#venues", Object.entries(doc.notional_usd_by_venue), ([venue, value]) => {
    const tr = el("tr");
    cell(tr, venue);
    cell(tr, usd(value), "n");
    return tr;
  });
  fill("#exposure", Object.entries(doc.net_exposure_usd), ([asset, value]) => {
    const tr = el("tr");
    cell(tr, asset, "asset");
    cell(tr, usd(value, true), "n " + signClass(value));
    return tr;
  });
  fill("#entity-positions", doc.positions, (p) => {
    const tr = el("tr");
    tr.dataset.address = p.address;
    tr.dataset.coin = p.coin;
    cell(tr, null, "account").appendChild(accountLink(p.address, labels.get(p.address)));
    cell(tr, p.venue);
    cell(tr, p.coin, "coin");
    cell(tr, p.side, p.side === "long" ? "up" : "down");
    cell(tr, num(p.size).toLocaleString("en-US", { maximumFractionDigits: 4 }), "n size");
    cell(tr, px(p.mark_px), "n");
    cell(tr, usd(p.notional_usd), "n notional");
    cell(tr, px(p.liquidation_px), "n liq");
    cell(tr, pct(p.distance_to_liq_pct), "n distance " + danger(p.distance_to_liq_pct));
    return tr;
  });
  fill("#entity-holdings", doc.holdings, (h) => {
    const tr = el("tr");
    cell(tr, null, "account").appendChild(accountLink(h.address, labels.get(h.address)));
    cell(tr, h.asset, "asset");
    cell(tr, num(h.amount).toLocaleString("en-US", { maximumFractionDigits: 6 }), "n");
    cell(tr, usd(h.usd_value), "n value");
    return tr;
  });
}

// --- live -------------------------------------------------------------------------------------

const render = { overview, account, entity, market, liquidations, alerts }[page];
const REREAD_MS = 30000; // a live overview re-reads the whole list at most this often
let lastEvent = 0;
let refreshing = null;
let liveFigures = false; // the daemon's live book feeds this page (tracker run, live mode)
let shownAt = 0; // when the overview was last read
let shownRows = new Map(); // address -> its overview row

function live(state, text) {
  const badge = document.getElementById("live");
  badge.className = "live " + state;
  badge.textContent = text;
}

async function refresh() {
  try {
    await render();
    problem("");
  } catch (error) {
    problem("could not read the data: " + error.message);
  }
}

const FEED = { alerts: "alert_ts", liquidations: "liquidation_ts" }[page]; // pushed as events
let feedSeen; // the newest alert or episode time of the last `change` (undefined: none yet)

function wanted(change) {
  // whether a stored change concerns this page: `addresses` names the accounts the daemon's
  // passes covered (absent: unknown, re-read); the live figures come on their own meanwhile.
  // The feeds re-read unless the change is new alerts or episodes: those arrive as events
  if (FEED) {
    const moved = feedSeen !== undefined && change[FEED] !== feedSeen;
    feedSeen = change[FEED];
    return !moved;
  }
  if (!change.addresses) return true;
  if (page === "account") return change.addresses.includes(address);
  if (page === "overview" && liveFigures) {
    return Date.now() - shownAt > REREAD_MS || !change.addresses.every((a) => shownRows.has(a));
  }
  return true;
}

function streamURL() {
  if (page === "account") return "/api/stream?account=" + encodeURIComponent(address);
  if (page === "overview") return "/api/stream?overview=1";
  if (FEED) return "/api/stream?feeds=1";
  return "/api/stream";
}

function livePush(handle) {
  return (e) => {
    lastEvent = Date.now();
    liveFigures = true;
    live("ok", "live · " + new Date().toISOString().slice(11, 19) + "Z");
    // after the page's own read: the book's figures are newer than the file's
    refreshing = (refreshing || Promise.resolve())
      .then(() => handle(JSON.parse(e.data)))
      .catch((error) => problem("could not show a live update: " + error.message));
  };
}

function follow() {
  const source = new EventSource(streamURL());
  source.addEventListener("change", (e) => {
    lastEvent = Date.now();
    live("ok", "live · " + new Date().toISOString().slice(11, 19) + "Z");
    if (wanted(JSON.parse(e.data))) refreshing = (refreshing || Promise.resolve()).then(refresh);
  });
  source.addEventListener("account", livePush(liveAccount));
  source.addEventListener("overview", livePush((doc) => liveRows(doc.rows)));
  source.addEventListener("position", livePush(liveMove));
  source.addEventListener("alert", (e) => pushed("#alerts", alertRow)(JSON.parse(e.data)));
  source.addEventListener("liquidation", (e) => pushed("#liquidations", liquidationRow)(JSON.parse(e.data)));
  source.addEventListener("ping", () => {
    lastEvent = Date.now();
    if (!document.getElementById("live").classList.contains("ok")) live("ok", "live");
  });
  source.addEventListener("trouble", (e) => {
    lastEvent = Date.now();
    live("stale", "store unreadable: " + JSON.parse(e.data).error);
  });
  source.onerror = () => live("down", "reconnecting…");
  setInterval(() => {
    if (lastEvent && Date.now() - lastEvent > STALE_MS) live("stale", "stale: no news for 15 s");
  }, 2000);
}

if (page === "overview") overviewFilters().catch((e) => problem(e.message));
if (page === "account") pagers();
// drawn at once, not at the stream's first `change` (which redraws it: the server answers that
// re-read from the same read while the data has not changed)
refreshing = refresh();
follow();
