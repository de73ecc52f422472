// The dashboard: reads the read API for one dealership and period, renders every panel from
// what it read, and renders again (without reading) when the language changes. Every panel
// makes a fixed number of requests, whatever the number of complaints or customers.

import { client } from "./api.js";
import { SEED_FIXED_RATIO, SEED_REPURCHASE, slaTargets, worstStep } from "./derive.js";
import { defaultPeriod, localToday, months, period } from "./period.js";
import { renderRetention } from "./retention.js";
import { $, code, el, explain, figure, money, note, num, pct, settled, switchLanguage, t, table, tile, ui, when } from "./ui.js";
import { initWorkList, openWorkList, renderCompletion, renderWorkList } from "./worklist.js";

const SLA_SAMPLE = 20; // complaints read for the SLA hours they were given (the first will do)
const STORE = { dealership: "laoke.dealership", key: "laoke.apikey" };

const state = { data: null, charts: {} };

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
  const steps = data.whole.groups[0].complaints.funnel;
  const widest = Math.max(1, ...steps.map((s) => s.reached));
  const worst = worstStep(steps);
  const rows = steps.map((s) => {
    const bar = el("div", { class: "funnel-bar" });
    bar.style.width = `${(100 * s.reached) / widest}%`;
    return el(
      "tr",
      { class: worst === s.step ? "worst" : null },
      el("th", { scope: "row", text: t(`step.${s.step}`) }),
      el("td", { class: "bar-cell" }, bar, figure(`funnel-reached-${s.step}`, s.reached, num(s.reached, 0))),
      el("td", {}, figure(`funnel-stalled-${s.step}`, s.standing, num(s.standing, 0))),
    );
  });
  table($("funnel-table"), [t("funnel.step"), t("funnel.reached"), t("funnel.stalled")], rows);
  $("funnel-stall").textContent = worst
    ? t("funnel.stall", { step: t(`step.${worst}`), n: steps[worst - 1].standing })
    : t("funnel.nostall");
  $("funnel-stall").dataset.value = worst ?? "null";
  $("funnel-source").textContent = t("funnel.source", { n: data.whole.groups[0].complaints.total });
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
  const known = data.sla.targets;
  const targets = known ?? { clock: "calendar", apology: null, resolution: null };
  // The figures in the clock the targets count in: opening hours, or every hour.
  const hours = targets.clock === "business" ? "business_hours_to_" : "hours_to_";
  $("sla-clock").textContent = known ? t(`sla.clock.${known.clock}`, { severity: code("sev", known.severity) }) : "";
  $("sla-clock").dataset.value = targets.clock;
  $("sla-bars").replaceChildren(
    slaBar(t("sla.apology"), "apology", all[`${hours}apology`], targets.apology),
    slaBar(t("sla.resolution"), "resolution", all[`${hours}resolution`], targets.resolution),
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
  const ofThem = (rate) => el("small", { text: ` (${t("common.of", { n: rate.numerator, d: rate.denominator })})` });
  const compared = all.dissatisfaction.fixed_versus_untroubled;
  table(
    $("rep-table"),
    [t("rep.outcome"), t("common.rate"), t("rep.seed")],
    [
      ...names.map((name) => {
        const rate = all.repurchase[name];
        return el(
          "tr",
          {},
          el("th", { scope: "row", text: t(`rep.${name}`) }),
          el("td", {}, figure(`rep-${name}`, rate.rate, pct(rate.rate)), ofThem(rate)),
          el("td", {}, figure(`rep-seed-${name}`, SEED_REPURCHASE[name], pct(SEED_REPURCHASE[name]))),
        );
      }),
      el(
        "tr",
        {},
        el("th", { scope: "row", text: t("rep.fixed_ratio") }),
        el("td", {}, figure("rep-fixed-ratio", compared.ratio, compared.ratio == null ? t("common.none") : `${num(compared.ratio, 2)}×`),
          el("small", { text: ` (${pct(compared.fixed.rate)} / ${pct(compared.never_complained?.rate)})` })),
        el("td", {}, figure("rep-seed-fixed-ratio", SEED_FIXED_RATIO, `≈ ${SEED_FIXED_RATIO}×`)),
      ),
    ],
  );
}

function renderDissatisfaction(data) {
  const low = data.whole.groups[0].dissatisfaction;
  const share = (label, testid, part) =>
    tile(label, testid, part.share, pct(part.share), t("common.of", { n: part.low, d: part.answers }));
  $("dis-tiles").replaceChildren(
    share(t("dis.csi_low"), "dis-csi-low", low.csi_low),
    share(t("dis.ssi_low"), "dis-ssi-low", low.ssi_low),
    share(t("dis.nps_detractors"), "dis-nps-detractors", low.nps_detractors),
    tile(t("dis.signalled"), "dis-signalled", low.silent.signalled, num(low.silent.signalled, 0), t("dis.signalled.hint")),
  );
}

function renderClasses(data) {
  if (!data.classes) {
    $("cls-hint").textContent = "";
    return note($("cls-table"), t("status.loading"));
  }
  if (data.classes.error) return note($("cls-table"), t("status.error", { message: data.classes.error() }));
  const rows = data.classes.answer.classes.map((row) => {
    const name = row.customer_class;
    return el(
      "tr",
      { class: `class-${name}` },
      el("th", { scope: "row" }, el("span", { class: `dot ${name}`, "aria-hidden": "true" }), code("class", name)),
      el("td", {}, figure(`cls-${name}-customers`, row.customers, num(row.customers, 0))),
      el("td", {}, figure(`cls-${name}-value`, row.value_cny, money(row.value_cny))),
      el("td", {}, figure(`cls-${name}-cost`, row.cost_cny, money(row.cost_cny))),
      el("td", { text: row.customers ? money(row.value_cny / row.customers) : t("common.none") }),
    );
  });
  table($("cls-table"), [t("cls.class"), t("cls.customers"), t("cls.value"), t("cls.cost"), t("cls.avg")], rows);
  const answer = data.classes.answer;
  const customers = answer.classes.reduce((sum, row) => sum + row.customers, 0);
  $("cls-hint").textContent = t("cls.hint", { n: num(customers, 0), when: when(answer.as_of) });
}

function renderStatic() {
  document.documentElement.lang = ui.lang === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("lang").textContent = t("lang.switch");
  $("lang").setAttribute("aria-label", t("lang.switch.label"));
}

function render() {
  renderStatic();
  renderStatus();
  renderWorkList();
  const data = state.data;
  if (!data) return;
  const completion = (d) => renderCompletion(d.whole);
  for (const panel of [renderSatisfaction, renderDissatisfaction, renderComplaints, renderFunnel, renderSla, renderReferrals, renderRetention, completion, renderClasses]) {
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
  // A fixed number of requests: the period's metrics, one per month, a sample of the
  // period's complaints (their SLA hours), its retention figures, the classes, and one page
  // of the work list.
  // The classes read every customer: the other panels do not wait for them.
  const working = openWorkList(api, query.dealership);
  const counting = settled(api.classes(query.dealership));
  try {
    const [metrics, monthly, sample, retention] = await Promise.all([
      api.satisfaction(query.dealership, whole.from, whole.to, true),
      Promise.all(months(query.from, query.to).map(async (m) => ({ month: m.month, metrics: await api.satisfaction(query.dealership, m.from, m.to) }))),
      settled(api.complaints(query.dealership, whole.from, whole.to, SLA_SAMPLE)),
      settled(api.retention(query.dealership, whole.from, whole.to)),
    ]);
    if (mine !== generation) return;
    const sla = sample.error ? { error: sample.error } : { targets: slaTargets(sample.answer) };
    state.data = { whole: metrics, months: monthly, sla, retention, classes: null };
    render();
    const classes = await counting;
    if (mine !== generation) return;
    state.data.classes = classes;
    renderClasses(state.data);
    await working;
    const failed = sla.error ?? retention.error ?? classes.error;
    if (failed) status("status.partial", { message: failed }, "error");
    else status("status.loaded", { when: () => when(metrics.as_of) }, "ok");
  } catch (error) {
    if (mine === generation) status("status.error", { message: explain(error) }, "error");
  } finally {
    if (mine === generation) $("panels").setAttribute("aria-busy", "false");
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
    switchLanguage();
    render();
  });
  $("query").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  initWorkList();
  render();
  load();
}

start();
