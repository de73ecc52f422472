// The read API (docs/contract.md §4), same origin, with the caller's API key when one is given.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function client(apiKey, base = "") {
  const headers = { Accept: "application/json" };
  if (apiKey) {
    // Both spellings laoke accepts; a proxy that strips one still passes the other.
    headers.Authorization = `Bearer ${apiKey}`;
    headers["X-API-Key"] = apiKey;
  }

  async function request(path, params) {
    const query = params ? `?${new URLSearchParams(params)}` : "";
    const response = await fetch(`${base}${path}${query}`, { headers });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = await response.json();
        if (body && body.message) message = `${response.status}: ${body.message}`;
      } catch {
        // not JSON: keep the status line
      }
      throw new ApiError(response.status, message);
    }
    return response;
  }

  const json = async (path, params) => (await request(path, params)).json();

  return {
    satisfaction: (dealership, from, to) =>
      json("/v1/metrics/satisfaction", { dealership_id: dealership, from, to }),
    followups: (dealership, status, limit = 5000) =>
      json("/v1/followups", { dealership_id: dealership, status, limit }),
    /** The complaints filed in the period, oldest first (at most `limit`). */
    complaints: async (dealership, from, to, limit) =>
      (await json("/v1/complaints", { dealership_id: dealership, from, to, limit })).items,
    customer: (id) => json(`/v1/customers/${encodeURIComponent(id)}`),
    /** The recorded events of the period (NDJSON; the trailer line is left out). */
    async audit(dealership, from, to) {
      const text = await (await request("/v1/audit", { dealership_id: dealership, from, to })).text();
      const events = [];
      for (const line of text.split("\n")) {
        if (!line) continue;
        const parsed = JSON.parse(line);
        if (parsed.event) events.push(parsed.event);
      }
      return events;
    },
  };
}

/** Run `work` on every item, at most `width` at a time; answers in the items' order. */
export async function pooled(items, width, work) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}
