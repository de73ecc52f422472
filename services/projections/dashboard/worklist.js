// The call centre's work list panel: `GET /v1/followups` by status tab, filtered by advisor,
// reason and channel, a page at a time by its cursor ("more"), and the same list as CSV.

import { save } from "./api.js";
import { $, code, codes, el, explain, figure, note, pct, t, table, tile, when } from "./ui.js";

export const PAGE = 50; // rows per page ("more" reads the next one by the cursor)
const STATUSES = ["due", "upcoming", "expired", "done", "skipped"];

const work = {
  api: null,
  dealership: null,
  status: "due",
  items: [],
  next: null, // the answer's next_cursor: null on the last page
  loading: false,
  error: null,
  saved: null, // the last CSV saved, or why it failed
  generation: 0, // a newer list wins over a slower older answer
  advisors: new Set(),
};

/** The list asked for: the tab and the filters as the API names them (empty: not sent). */
function listed() {
  return {
    status: work.status,
    advisor_id: $("fu-advisor").value.trim(),
    reason: $("fu-reason").value,
    channel: $("fu-channel").value,
  };
}

async function read(reset) {
  if (!work.api) return;
  const mine = reset ? ++work.generation : work.generation;
  if (reset) Object.assign(work, { items: [], next: null, error: null });
  work.loading = true;
  renderWorkList();
  try {
    const page = await work.api.followups(work.dealership, listed(), reset ? null : work.next, PAGE);
    if (mine !== work.generation) return;
    work.items = work.items.concat(page.items);
    work.next = page.next_cursor;
    for (const item of page.items) if (item.advisor_id) work.advisors.add(item.advisor_id);
  } catch (error) {
    if (mine === work.generation) work.error = explain(error);
  } finally {
    if (mine === work.generation) {
      work.loading = false;
      renderWorkList();
    }
  }
}

/** Read the dealership's list afresh (a new query, or another tab or filter). */
export function openWorkList(api, dealership) {
  work.api = api;
  work.dealership = dealership;
  work.advisors.clear();
  return read(true);
}

async function downloadCsv() {
  if (!work.api) return;
  const button = $("fu-csv");
  button.disabled = true;
  try {
    const params = { dealership_id: work.dealership, ...listed() };
    const { blob, name } = await work.api.csv("/v1/followups", params);
    const file = name ?? `followups-${work.dealership}-${work.status}.csv`;
    save(blob, file);
    work.saved = () => t("fu.csv.saved", { name: file });
  } catch (error) {
    work.saved = () => t("status.error", { message: explain(error)() });
  } finally {
    button.disabled = false;
    renderWorkList();
  }
}

// ---------- rendering ----------

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

/** The vehicle the follow-up is about: model and plate, the VIN under them. */
function vehicleCell(vehicle) {
  if (!vehicle) return el("td", { text: t("common.none") });
  const named = [vehicle.model, vehicle.plate].filter(Boolean).join(" · ");
  return el(
    "td",
    {},
    named || null,
    named ? el("br") : null,
    el("small", { class: "id", testid: "fu-vehicle", text: vehicle.vin }),
  );
}

/** Where the item stands: open (overdue, due, upcoming), done with its outcome, skipped
 * with why, or expired. */
function stateText(item) {
  if (item.status === "done") return [t("state.done"), code("outcome", item.outcome)].join(": ");
  if (item.status === "skipped") return [t("state.skipped"), code("skip", item.skip_reason)].join(": ");
  return t(`state.${item.status}`);
}

function row(item) {
  const why = item.detail?.why ? ` — ${item.detail.why}` : "";
  return el(
    "tr",
    { testid: "fu-row", "data-id": item.follow_up_id, class: item.status === "overdue" ? "overdue" : null },
    el("td", {}, el("time", { datetime: item.due_at ?? "", text: when(item.due_at) })),
    el("td", {}, el("time", { datetime: item.expires_at ?? "", text: when(item.expires_at) })),
    el("td", { text: code("reason", item.reason) + why }),
    el("td", { text: code("channel", item.channel) }),
    customerCell(item),
    vehicleCell(item.vehicle),
    el("td", { text: item.advisor_id ?? t("common.none") }),
    el("td", { text: stateText(item) }),
    el("td", { text: item.rules_applied.map((r) => code("rule", r)).join(", ") || t("common.none") }),
  );
}

function options(select, prefix, label) {
  const chosen = select.value;
  select.replaceChildren(
    new Option(label, ""),
    ...codes(prefix).map((value) => new Option(code(prefix, value), value)),
  );
  select.value = chosen;
}

export function renderWorkList() {
  for (const status of STATUSES) {
    const tab = $(`fu-tab-${status}`);
    const selected = work.status === status;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  options($("fu-reason"), "reason", t("fu.any.reason"));
  options($("fu-channel"), "channel", t("fu.any.channel"));
  $("fu-advisors").replaceChildren(...[...work.advisors].sort().map((a) => new Option("", a)));
  $("fu-list").setAttribute("aria-labelledby", `fu-tab-${work.status}`);
  const overdue = work.items.filter((item) => item.status === "overdue").length;
  const shown = t(work.next ? "fu.shown.more" : "fu.shown", { n: work.items.length, o: overdue });
  const said = work.error ? t("status.error", { message: work.error() }) : work.loading ? t("status.loading") : shown;
  $("fu-note").replaceChildren(figure("fu-shown", work.items.length, said));
  $("fu-note").setAttribute("aria-busy", String(work.loading)); // (the browser test waits on it)
  $("fu-note").append(work.saved ? el("span", { testid: "fu-saved", text: ` · ${work.saved()}` }) : "");
  $("fu-more").hidden = !work.next || work.loading;
  if (!work.items.length) return note($("fu-list"), work.loading ? t("status.loading") : t("fu.empty"));
  const body = el("table", { testid: `fu-table-${work.status}` });
  const head = ["fu.due_at", "fu.expires_at", "fu.reason", "fu.channel", "fu.customer", "fu.vehicle", "fu.advisor", "fu.state", "fu.rules"];
  table(body, head.map((key) => t(key)), work.items.map(row));
  $("fu-list").replaceChildren(body);
}

/** The period's completion rate (from the metrics), beside the list. */
export function renderCompletion(metrics) {
  const completion = metrics.groups[0].follow_up_completion;
  $("fu-tiles").replaceChildren(
    tile(t("fu.completion"), "fu-completion", completion.rate, pct(completion.rate), t("common.of", { n: completion.numerator, d: completion.denominator })),
  );
}

export function initWorkList() {
  const tabs = STATUSES.map((status) => $(`fu-tab-${status}`));
  for (const [index, tab] of tabs.entries()) {
    tab.addEventListener("click", () => {
      if (work.status === tab.dataset.status && work.items.length) return;
      work.status = tab.dataset.status;
      read(true);
    });
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const other = tabs[(index + step + tabs.length) % tabs.length];
      other.focus();
      other.click();
    });
  }
  $("fu-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    read(true);
  });
  for (const id of ["fu-reason", "fu-channel"]) $(id).addEventListener("change", () => read(true));
  $("fu-advisor").addEventListener("change", () => read(true));
  $("fu-more").addEventListener("click", () => read(false));
  $("fu-csv").addEventListener("click", downloadCsv);
  renderWorkList();
}
