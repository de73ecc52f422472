// Periods as the page asks the API for them. Dates picked are days in the dealership's
// local time: Chinese dealerships keep China Standard Time (UTC+8, no daylight saving).

export const OFFSET = "+08:00";

const pad = (n) => String(n).padStart(2, "0");

/** "2026-03-05" → "2026-03-05T00:00:00+08:00" (the start of that local day). */
export function dayStart(day) {
  return `${day}T00:00:00${OFFSET}`;
}

/** The day after `day` ("YYYY-MM-DD"), by the calendar (no clock involved). */
export function nextDay(day) {
  const [y, m, d] = day.split("-").map(Number);
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return `${next.getUTCFullYear()}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}`;
}

/** The whole period: from the start of `from` to the end of `to` (inclusive), as the API's
 * `from` (inclusive) and `to` (exclusive). */
export function period(from, to) {
  return { from: dayStart(from), to: dayStart(nextDay(to)) };
}

/** One slice per calendar month the period touches, clipped to the period. */
export function months(from, to) {
  const end = nextDay(to);
  const slices = [];
  let start = from;
  while (start < end) {
    const [y, m] = start.split("-").map(Number);
    const firstOfNext = m === 12 ? `${y + 1}-01-01` : `${y}-${pad(m + 1)}-01`;
    const stop = firstOfNext < end ? firstOfNext : end;
    slices.push({ month: start.slice(0, 7), from: dayStart(start), to: dayStart(stop) });
    start = stop;
  }
  return slices;
}

/** The default period: the twelve months up to `today` ("YYYY-MM-DD"). */
export function defaultPeriod(today) {
  const [y, m, d] = today.split("-").map(Number);
  const start = new Date(Date.UTC(y - 1, m - 1, d + 1));
  const from = `${start.getUTCFullYear()}-${pad(start.getUTCMonth() + 1)}-${pad(start.getUTCDate())}`;
  return { from, to: today };
}

/** Today's date in the dealership's time zone. */
export function localToday(now = new Date()) {
  const shifted = new Date(now.getTime() + 8 * 3600 * 1000);
  return shifted.toISOString().slice(0, 10);
}

/** Hours between two ISO timestamps. */
export function hoursBetween(start, end) {
  return (Date.parse(end) - Date.parse(start)) / 3600000;
}
