// Customers won and lost: where the period's new customers came from, and why customers
// were lost in it, each beside seed 003's figure (derive.js). One answer of
// `GET /v1/metrics/retention` for the period, whatever the number of customers.

import { SEED_NEGLECTED, SEED_SOURCES } from "./derive.js";
import { $, code, el, figure, note, num, pct, t, table, tile } from "./ui.js";

const SOURCES = Object.keys(SEED_SOURCES); // in the seed's order
const CAUSES = ["complained", "dissatisfied", "last_call", "neglected", "contacted"];

/** The dealership's share as a bar with a mark at the seed's: decoration, the cells beside
 * it carry both numbers. */
function shareBar(share, seed) {
  const track = el("div", { class: "share-track", "aria-hidden": "true" });
  if (share != null) {
    const fill = el("div", { class: "share-fill" });
    fill.style.width = `${100 * share}%`;
    track.append(fill);
  }
  const mark = el("div", { class: "share-mark" });
  mark.style.left = `${100 * seed}%`;
  track.append(mark);
  return track;
}

function renderAcquisition(answer) {
  const a = answer.groups[0].acquisition;
  $("acq-tiles").replaceChildren(
    tile(t("acq.new"), "acq-new", a.new_customers, num(a.new_customers, 0), t("acq.new.hint")),
    tile(t("acq.bought"), "acq-bought", a.bought, num(a.bought, 0), t("common.of", { n: a.bought, d: a.new_customers })),
  );
  const rows = SOURCES.map((name) => {
    const s = a[name];
    const seed = SEED_SOURCES[name];
    return el(
      "tr",
      {},
      el("th", { scope: "row", text: code("src", name) }),
      el("td", {}, figure(`acq-${name}-customers`, s.customers, num(s.customers, 0))),
      el("td", { class: "share-cell" }, shareBar(s.share, seed), figure(`acq-${name}-share`, s.share, pct(s.share))),
      el("td", {}, figure(`acq-${name}-bought`, s.bought, num(s.bought, 0))),
      el("td", {}, figure(`acq-seed-${name}`, seed, pct(seed)), el("small", { class: "seed-name", text: t(`acq.vs.${name}`) })),
    );
  });
  table($("acq-table"), [t("acq.source"), t("acq.customers"), t("acq.share"), t("acq.bought_col"), t("acq.seed")], rows);
  $("acq-note").textContent = a.new_customers ? "" : t("acq.empty");
}

function renderLost(answer) {
  const lost = answer.groups[0].lost;
  const days = answer.lapse_days;
  const share = lost.neglected_share;
  $("lost-tiles").replaceChildren(
    tile(t("lost.total"), "lost-total", lost.customers, num(lost.customers, 0), t("lost.total.hint", { days })),
    tile(t("lost.neglected_share"), "lost-neglected-share", share.rate, pct(share.rate), t("common.of", { n: share.numerator, d: share.denominator })),
    tile(t("lost.seed"), "lost-seed-neglected", SEED_NEGLECTED, pct(SEED_NEGLECTED), t("lost.seed.hint")),
  );
  const rows = CAUSES.map((name) => {
    const r = lost[name];
    return el(
      "tr",
      {},
      el("th", { scope: "row", text: code("cause", name) }),
      el("td", {}, figure(`lost-${name}-customers`, r.numerator, num(r.numerator, 0))),
      el("td", {}, figure(`lost-${name}`, r.rate, pct(r.rate))),
    );
  });
  table($("lost-table"), [t("lost.cause", { days }), t("lost.customers"), t("lost.share")], rows);
  $("lost-note").textContent = lost.customers ? "" : t("lost.empty");
}

/** `data.retention`: the period's answer, or why there is none. */
export function renderRetention(data) {
  const read = data.retention;
  if (read.error) {
    const why = t("status.error", { message: read.error() });
    for (const id of ["acq", "lost"]) {
      $(`${id}-tiles`).replaceChildren();
      $(`${id}-note`).textContent = "";
      note($(`${id}-table`), why);
    }
    return;
  }
  renderAcquisition(read.answer);
  renderLost(read.answer);
}
