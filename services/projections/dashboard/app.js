// The dashboard: reads the read API for one dealership and period, renders every panel from
// what it read, and renders again (without reading) when the language changes.

import { ApiError, client, pooled } from "./api.js";
import { byClass, customersSeen, funnel, slaTargets, STEPS } from "./derive.js";
import { defaultPeriod, localToday, months, period } from "./period.js";
import { LANGUAGES, STRINGS } from "./strings.js";

const MAX_CUSTOMERS = 1000; // per-customer reads; the API has no customer list (yet)
const MAX_COMPLAINTS = 1000;
const FIRST_ROWS = 100; // follow-up rows shown before "show all"
const STORE = { dealership: "laoke.dealership", lang: "laoke.lang", key: "laoke.apikey" };

const $ = (id) => document.getElementById(id);
const state = { lang: pickLanguage(), data: null, followupTab: "due", showAll: false, charts: {} };

// ---------- strings and numbers ----------

function pickLanguage() {
  const saved = localStorage.getItem(STORE.lang);
  if (LANGUAGES.includes(saved)) return saved;
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function t(key, values = {}) {
  const text = STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** A code the API answers (category, reason…), translated when the table knows it. */
function code(prefix, value) {
  if (value == null) return t("common.none");
  const key = `${prefix}.${value}`;
  return STRINGS[state.lang][key] ?? value;
}

function locale() {
  return state.lang === "zh" ? "zh-CN" : "en-GB";
}

function num(value, digits = 1) {
  if (value == null) return t("common.none");
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

function pct(value) {
  if (value == null) return t("common.none");
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(value);
}

function money(value) {
  return t("common.cny", { v: num(value, 0) });
}

function when(iso) {
  if (!iso) return t("common.none");
  return new Intl.DateTimeFormat(locale(), {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "Asia/Shanghai",
  }).format(new Date(iso));
}

// ---------- DOM ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name === "testid") node.dataset.testid = value;
    else if (name === "value") node.dataset.value = String(value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

/** A figure with its raw number in `data-value` (what the browser test compares). */
function figure(testid, raw, shown) {
  return el("span", { class: "figure", testid, value: raw ?? "null", text: shown });
}

function tile(label, testid, raw, shown, sub) {
  return el(
    "div",
    { class: "tile" },
    el("div", { class: "tile-label", text: label }),
    el("div", { class: "tile-value" }, figure(testid, raw, shown)),
    sub ? el("div", { class: "tile-sub", text: sub }) : null,
  );
}

function table(node, head, rows) {
  node.replaceChildren(
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows),
  );
}

function note(node, text) {
  node.replaceChildren(el("p", { class: "hint", text }));
}

// ---------- charts (optional: the tables carry the same numbers) ----------

function chart(id, config) {
  state.charts[id]?.destroy();
  delete state.charts[id];
  if (!window.Chart) return;
  const css = getComputedStyle(document.documentElement);
  window.Chart.defaults.color = css.getPropertyValue("--muted").trim() || "#555";
  window.Chart.defaults.font.family = css.getPropertyValue("--font").trim() || "sans-serif";
  config.options = { animation: false, maintainAspectRatio: false, responsive: true, ...config.options };
  state.charts[id] = new window.Chart($(id), config);
}

const COLOURS = { csi: "#2563eb", ssi: "#0d9488", nps: "#c2410c", bar: "#7c3aed" };

// ---------- panels ----------

function renderSatisfaction(data) {
  const all = data.whole.groups[0];
  $("sat-tiles").replaceChildren(
    tile(t("sat.csi"), "sat-csi", all.csi.mean, num(all.csi.mean, 2), `${t("common.count")} ${all.csi.count}`),
    tile(t("sat.ssi"), "sat-ssi", all.ssi.mean, num(all.ssi.mean, 2), `${t("common.count")} ${all.ssi.count}`),
    tile(
      t("sat.nps"),
      "sat-nps",
      all.nps.score,
      num(all.nps.score, 1),
      t("sat.nps.split", { p: all.nps.promoters, s: all.nps.passives, d: all.nps.detractors }),
    ),
  );
  const rows = data.months.map(({ month, metrics }) => {
    const g = metrics.groups[0];
    return el(
      "tr",
      { testid: `sat-row-${month}` },
      el("th", { scope: "row", text: month }),
      el("td", {}, figure("csi", g.csi.mean, num(g.csi.mean, 2)), el("small", { text: ` (${g.csi.count})` })),
      el("td", {}, figure("ssi", g.ssi.mean, num(g.ssi.mean, 2)), el("small", { text: ` (${g.ssi.count})` })),
      el("td", {}, figure("nps", g.nps.score, num(g.nps.score, 1)), el("small", { text: ` (${g.nps.count})` })),
    );
  });
  table($("sat-table"), [t("sat.month"), t("sat.csi"), t("sat.ssi"), t("sat.nps")], rows);
  const series = (pick) => data.months.map(({ metrics }) => pick(metrics.groups[0]));
  chart("sat-chart", {
    type: "line",
    data: {
      labels: data.months.map((m) => m.month),
      datasets: [
        { label: t("sat.csi"), data: series((g) => g.csi.mean), borderColor: COLOURS.csi, backgroundColor: COLOURS.csi, yAxisID: "score", spanGaps: true },
        { label: t("sat.ssi"), data: series((g) => g.ssi.mean), borderColor: COLOURS.ssi, backgroundColor: COLOURS.ssi, yAxisID: "score", spanGaps: true },
        { label: t("sat.nps"), data: series((g) => g.nps.score), borderColor: COLOURS.nps, backgroundColor: COLOURS.nps, yAxisID: "nps", borderDash: [6, 4], spanGaps: true },
      ],
    },
    options: {
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { labels: { usePointStyle: true } } },
      scales: {
        score: { position: "left", min: 0, max: 10, title: { display: true, text: "CSI / SSI" } },
        nps: { position: "right", min: -100, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "NPS" } },
      },
    },
  });
}

function renderComplaints(data) {
  const all = data.whole.groups[0];
  $("cmp-tiles").replaceChildren(
    tile(t("cmp.total"), "cmp-total", all.complaints.total, num(all.complaints.total, 0)),
    tile(
      t("cmp.silent"),
      "cmp-silent",
      all.silent_dissatisfied_estimate,
      num(all.silent_dissatisfied_estimate, 0),
      t("cmp.silent.hint"),
    ),
  );
  const entries = Object.entries(all.complaints.by_category).sort((a, b) => b[1] - a[1]);
  table(
    $("cmp-table"),
    [t("cmp.category"), t("cmp.count")],
    entries.map(([category, count]) =>
      el("tr", {}, el("th", { scope: "row", text: code("cat", category) }), el("td", {}, figure(`cmp-cat-${category}`, count, num(count, 0)))),
    ),
  );
  chart("cmp-chart", {
    type: "bar",
    data: {
      labels: entries.map(([category]) => code("cat", category)),
      datasets: [{ label: t("cmp.count"), data: entries.map(([, count]) => count), backgroundColor: COLOURS.bar }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function renderFunnel(data) {
  const derived = data.derived;
  if (!derived) return note($("funnel-table"), t("status.loading"));
  if (derived.error) return note($("funnel-table"), t("status.error", { message: derived.error() }));
  const f = derived.funnel;
  const widest = Math.max(1, ...f.reached);
  const rows = STEPS.map((step, i) => {
    const bar = el("div", { class: "funnel-bar" });
    bar.style.width = `${(100 * f.reached[i]) / widest}%`;
    return el(
      "tr",
      { class: f.worst === step ? "worst" : null },
      el("th", { scope: "row", text: t(`step.${step}`) }),
      el("td", { class: "bar-cell" }, bar, figure(`funnel-reached-${step}`, f.reached[i], num(f.reached[i], 0))),
      el("td", {}, figure(`funnel-stalled-${step}`, f.stalled[i], num(f.stalled[i], 0))),
    );
  });
  table($("funnel-table"), [t("funnel.step"), t("funnel.reached"), t("funnel.stalled")], rows);
  $("funnel-stall").textContent = f.worst
    ? t("funnel.stall", { step: t(`step.${f.worst}`), n: f.stalled[f.worst - 1] })
    : t("funnel.nostall");
  $("funnel-stall").dataset.value = f.worst ?? "null";
  $("funnel-source").textContent = t("funnel.source", { n: f.total });
}

/** `target`: the hours complaints recorded for this clock (ComplaintClockSet), null when
 * no complaint of the period says; the dashboard never assumes one. */
function slaBar(label, name, percentiles, target) {
  const scale = Math.max(target ?? 0, percentiles.p90 ?? 0, percentiles.p50 ?? 0) * 1.1 || 1;
  const track = el("div", { class: "sla-track", "aria-hidden": "true" });
  for (const p of ["p90", "p50"]) {
    if (percentiles[p] == null) continue;
    const over = target != null && percentiles[p] > target;
    const bar = el("div", { class: `sla-fill ${p} ${over ? "over" : ""}` });
    bar.style.width = `${(100 * percentiles[p]) / scale}%`;
    track.append(bar);
  }
  if (target != null) {
    const mark = el("div", { class: "sla-mark" });
    mark.style.left = `${(100 * target) / scale}%`;
    track.append(mark);
  }
  const over = (p) =>
    target != null && percentiles[p] != null && percentiles[p] > target ? ` · ${t("sla.over")}` : "";
  return el(
    "div",
    { class: "sla" },
    el("h3", { text: label }),
    track,
    el(
      "dl",
      { class: "sla-figures" },
      el("dt", { text: "p50" }),
      el("dd", {}, figure(`sla-${name}-p50`, percentiles.p50, t("common.hours", { h: num(percentiles.p50, 2) })), over("p50")),
      el("dt", { text: "p90" }),
      el("dd", {}, figure(`sla-${name}-p90`, percentiles.p90, t("common.hours", { h: num(percentiles.p90, 2) })), over("p90")),
      el("dt", { text: t("sla.target") }),
      el("dd", {}, figure(`sla-${name}-target`, target, target == null ? "—" : t("common.hours", { h: num(target, 2) }))),
    ),
  );
}

function renderSla(data) {
  const all = data.whole.groups[0];
  const targets = data.derived?.sla ?? { apology: null, resolution: null };
  $("sla-bars").replaceChildren(
    slaBar(t("sla.apology"), "apology", all.hours_to_apology, targets.apology),
    slaBar(t("sla.resolution"), "resolution", all.hours_to_resolution, targets.resolution),
  );
  const within = all.resolved_within_sla;
  $("sla-tiles").replaceChildren(
    tile(t("sla.within"), "sla-within", within.rate, pct(within.rate), t("common.of", { n: within.numerator, d: within.denominator })),
  );
}

function renderReferrals(data) {
  const all = data.whole.groups[0];
  const r = all.referral_conversion;
  $("ref-tiles").replaceChildren(
    tile(t("ref.rate"), "ref-rate", r.rate, pct(r.rate), `${r.numerator} ${t("ref.verified")} / ${r.denominator} ${t("ref.claimed")}`),
  );
  const names = ["resolved_quickly", "resolved_slowly", "unresolved", "dissatisfied_never_complained"];
  table(
    $("rep-table"),
    [t("rep.outcome"), t("common.rate")],
    names.map((name) => {
      const rate = all.repurchase[name];
      return el(
        "tr",
        {},
        el("th", { scope: "row", text: t(`rep.${name}`) }),
        el("td", {}, figure(`rep-${name}`, rate.rate, pct(rate.rate)), el("small", { text: ` (${t("common.of", { n: rate.numerator, d: rate.denominator })})` })),
      );
    }),
  );
}

/** Whom to call: the customer's name (else the start of the id), phone and class. */
function customerCell(item) {
  const who = item.customer;
  const name = who?.name ?? item.customer_id.slice(0, 8);
  const cell = el("td", { class: who?.name ? null : "id", title: item.customer_id, text: name });
  if (!who) return cell;
  const more = [who.phone, code("class", who.customer_class)].filter(Boolean).join(" · ");
  cell.append(el("br"), el("small", { testid: "fu-contact", text: more }));
  return cell;
}

/** The vehicle the follow-up is about: model and plate, else the VIN. */
function vehicleText(vehicle) {
  if (!vehicle) return t("common.none");
  return [vehicle.model, vehicle.plate].filter(Boolean).join(" · ") || vehicle.vin;
}

function renderFollowups(data) {
  // `due` is the work whose time has come (overdue included); `upcoming` is not due yet.
  const lists = { due: data.due, upcoming: data.upcoming };
  const overdue = data.due.items.filter((item) => item.status === "overdue").length;
  const completion = data.whole.groups[0].follow_up_completion;
  $("fu-tiles").replaceChildren(
    tile(t("fu.due"), "fu-due-count", lists.due.count, num(lists.due.count, 0)),
    tile(t("fu.overdue"), "fu-overdue-count", overdue, num(overdue, 0)),
    tile(t("fu.upcoming"), "fu-upcoming-count", lists.upcoming.count, num(lists.upcoming.count, 0)),
    tile(t("fu.completion"), "fu-completion", completion.rate, pct(completion.rate), t("common.of", { n: completion.numerator, d: completion.denominator })),
  );
  for (const status of ["due", "upcoming"]) {
    const tab = $(`fu-tab-${status}`);
    const selected = state.followupTab === status;
    tab.textContent = `${t(`fu.${status}`)} (${lists[status].count})`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  const list = lists[state.followupTab];
  $("fu-list").setAttribute("aria-labelledby", `fu-tab-${state.followupTab}`);
  if (!list.items.length) return note($("fu-list"), t("fu.empty"));
  const shown = state.showAll ? list.items : list.items.slice(0, FIRST_ROWS);
  const rows = shown.map((item) =>
    el(
      "tr",
      { testid: "fu-row", "data-id": item.follow_up_id, class: item.status === "overdue" ? "overdue" : null },
      el("td", {}, el("time", { datetime: item.due_at ?? "", text: when(item.due_at) })),
      el("td", { text: code("reason", item.reason) + (item.detail?.why ? ` — ${item.detail.why}` : "") }),
      el("td", { text: code("channel", item.channel) }),
      customerCell(item),
      el("td", { title: item.vehicle?.vin ?? "", text: vehicleText(item.vehicle) }),
      el("td", { text: item.advisor_id ?? t("common.none") }),
      el("td", { text: item.rules_applied.map((r) => code("rule", r)).join(", ") || t("common.none") }),
    ),
  );
  const body = el("table", { testid: `fu-table-${state.followupTab}` });
  table(body, [t("fu.due_at"), t("fu.reason"), t("fu.channel"), t("fu.customer"), t("fu.vehicle"), t("fu.advisor"), t("fu.rules")], rows);
  const more = list.items.length > shown.length
    ? el("button", {
        type: "button",
        class: "more",
        text: t("common.showall", { n: list.items.length }),
        onclick: () => { state.showAll = true; renderFollowups(state.data); },
      })
    : null;
  $("fu-list").replaceChildren(body, more ?? "");
}

function renderClasses(data) {
  const derived = data.derived;
  if (!derived) return note($("cls-table"), t("status.loading"));
  if (derived.error) return note($("cls-table"), t("status.error", { message: derived.error() }));
  const rows = derived.classes.map((row) =>
    el(
      "tr",
      { class: `class-${row.name}` },
      el("th", { scope: "row" }, el("span", { class: `dot ${row.name}`, "aria-hidden": "true" }), code("class", row.name)),
      el("td", {}, figure(`cls-${row.name}-customers`, row.customers, num(row.customers, 0))),
      el("td", {}, figure(`cls-${row.name}-value`, row.value, money(row.value))),
      el("td", {}, figure(`cls-${row.name}-cost`, row.cost, money(row.cost))),
      el("td", { text: row.customers ? money(row.value / row.customers) : t("common.none") }),
    ),
  );
  table($("cls-table"), [t("cls.class"), t("cls.customers"), t("cls.value"), t("cls.cost"), t("cls.avg")], rows);
  $("cls-hint").textContent = t("cls.hint") + (derived.capped ? ` · ${t("cls.capped", { n: MAX_CUSTOMERS })}` : "");
}

function renderStatic() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("lang").textContent = t("lang.switch");
  $("lang").setAttribute("aria-label", t("lang.switch.label"));
}

function render() {
  renderStatic();
  renderStatus();
  const data = state.data;
  if (!data) return;
  for (const panel of [renderSatisfaction, renderComplaints, renderFunnel, renderSla, renderReferrals, renderFollowups, renderClasses]) {
    try {
      panel(data);
    } catch (error) {
      console.error(panel.name, error);
    }
  }
}

// ---------- loading ----------

// The status line is kept as a string key and values, so a language switch re-words it.
let shownStatus = null;

function status(key, values = {}, kind = "") {
  shownStatus = { key, values, kind };
  renderStatus();
}

function renderStatus() {
  if (!shownStatus) return;
  const { key, values, kind } = shownStatus;
  const worded = Object.fromEntries(
    Object.entries(values).map(([name, v]) => [name, typeof v === "function" ? v() : v]),
  );
  $("status").textContent = t(key, worded);
  $("status").className = `status ${kind}`;
}

/** Why a read failed, worded when it is shown (a function: the language may change). */
function explain(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return () => t("status.unauthorized");
  return () => error.message;
}

let generation = 0; // a newer query wins over a slower older one

async function load() {
  const query = {
    dealership: $("dealership").value.trim(),
    from: $("from").value,
    to: $("to").value,
    key: $("apikey").value.trim(),
  };
  if (!query.dealership || !query.from || !query.to) return;
  if (query.from > query.to) return status("status.badperiod", {}, "error");
  localStorage.setItem(STORE.dealership, query.dealership);
  // the key stays for this tab only, not on disk
  sessionStorage.setItem(STORE.key, query.key);
  const mine = ++generation;
  const api = client(query.key);
  const whole = period(query.from, query.to);
  status("status.loading");
  $("panels").setAttribute("aria-busy", "true");
  try {
    const [metrics, monthly, due, upcoming] = await Promise.all([
      api.satisfaction(query.dealership, whole.from, whole.to),
      Promise.all(months(query.from, query.to).map(async (m) => ({ month: m.month, metrics: await api.satisfaction(query.dealership, m.from, m.to) }))),
      api.followups(query.dealership, "due"),
      api.followups(query.dealership, "upcoming"),
    ]);
    if (mine !== generation) return;
    state.showAll = false;
    state.data = { whole: metrics, months: monthly, due, upcoming, derived: null };
    render();
    state.data.derived = await derive(api, query.dealership, whole);
    if (mine !== generation) return;
    render();
    const failed = state.data.derived.error;
    if (failed) status("status.partial", { message: failed }, "error");
    else status("status.loaded", { when: () => when(metrics.as_of) }, "ok");
  } catch (error) {
    if (mine === generation) status("status.error", { message: explain(error) }, "error");
  } finally {
    if (mine === generation) $("panels").setAttribute("aria-busy", "false");
  }
}

/** The funnel and SLA targets from the period's complaints; classes from the customers its
 * events name (the API has no list of customers by class). */
async function derive(api, dealership, whole) {
  try {
    const [events, complaints] = await Promise.all([
      api.audit(dealership, whole.from, whole.to),
      api.complaints(dealership, whole.from, whole.to, MAX_COMPLAINTS),
    ]);
    const seen = customersSeen(events);
    const customers = await pooled(seen.slice(0, MAX_CUSTOMERS), 8, (id) =>
      api.customer(id).catch((e) => (e.status === 404 ? null : Promise.reject(e))),
    );
    return {
      funnel: funnel(complaints),
      sla: slaTargets(complaints),
      classes: byClass(customers),
      capped: seen.length > MAX_CUSTOMERS,
    };
  } catch (error) {
    return { error: explain(error) };
  }
}

// ---------- start ----------

function start() {
  const today = localToday();
  const initial = defaultPeriod(today);
  $("dealership").value = localStorage.getItem(STORE.dealership) || "demo-4s";
  $("from").value = initial.from;
  $("to").value = initial.to;
  $("apikey").value = sessionStorage.getItem(STORE.key) || "";
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(STORE.lang, state.lang);
    render();
  });
  $("query").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  const tabs = [$("fu-tab-due"), $("fu-tab-upcoming")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      state.followupTab = tab.dataset.status;
      state.showAll = false;
      if (state.data) renderFollowups(state.data);
    });
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const other = tabs.find((x) => x !== tab);
      other.focus();
      other.click();
    });
  }
  render();
  load();
}

start();
