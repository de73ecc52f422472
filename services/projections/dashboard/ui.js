// What every panel shares: the language, its words and number formats, and DOM helpers.

import { ApiError } from "./api.js";
import { LANGUAGES, STRINGS } from "./strings.js";

const LANG_KEY = "laoke.lang";

export const ui = { lang: pickLanguage() };

function pickLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (LANGUAGES.includes(saved)) return saved;
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function switchLanguage() {
  ui.lang = ui.lang === "zh" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, ui.lang);
}

export const $ = (id) => document.getElementById(id);

export function t(key, values = {}) {
  const text = STRINGS[ui.lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** A code the API answers (category, reason…), translated when the table knows it. */
export function code(prefix, value) {
  if (value == null) return t("common.none");
  const key = `${prefix}.${value}`;
  return STRINGS[ui.lang][key] ?? value;
}

/** The codes the strings table translates under `prefix` (reasons, channels…), in order. */
export function codes(prefix) {
  return Object.keys(STRINGS.en)
    .filter((key) => key.startsWith(`${prefix}.`))
    .map((key) => key.slice(prefix.length + 1));
}

function locale() {
  return ui.lang === "zh" ? "zh-CN" : "en-GB";
}

export function num(value, digits = 1) {
  if (value == null) return t("common.none");
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

export function pct(value) {
  if (value == null) return t("common.none");
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(value);
}

export function money(value) {
  return t("common.cny", { v: num(value, 0) });
}

export function when(iso) {
  if (!iso) return t("common.none");
  return new Intl.DateTimeFormat(locale(), {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "Asia/Shanghai",
  }).format(new Date(iso));
}

export function el(tag, attrs = {}, ...children) {
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
export function figure(testid, raw, shown) {
  return el("span", { class: "figure", testid, value: raw ?? "null", text: shown });
}

export function tile(label, testid, raw, shown, sub) {
  return el(
    "div",
    { class: "tile" },
    el("div", { class: "tile-label", text: label }),
    el("div", { class: "tile-value" }, figure(testid, raw, shown)),
    sub ? el("div", { class: "tile-sub", text: sub }) : null,
  );
}

export function table(node, head, rows) {
  node.replaceChildren(
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows),
  );
}

export function note(node, text) {
  node.replaceChildren(el("p", { class: "hint", text }));
}

/** Why a read failed, worded when it is shown (a function: the language may change). */
export function explain(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return () => t("status.unauthorized");
  return () => error.message;
}

/** An answer, or why there is none (a panel that could not be read says so; the others
 * are shown). */
export async function settled(promise) {
  try {
    return { answer: await promise };
  } catch (error) {
    return { error: explain(error) };
  }
}
