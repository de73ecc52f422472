// The read API (docs/contract.md §4), same origin, with the caller's API key when one is given.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Parameters with a value (a filter left empty is not sent). */
function query(params) {
  const given = Object.entries(params ?? {}).filter(([, v]) => v != null && v !== "");
  return given.length ? `?${new URLSearchParams(given)}` : "";
}

/** The file name a `Content-Disposition: attachment; filename="…"` header gives. */
export function filenameOf(disposition) {
  const found = /filename="([^"]+)"/.exec(disposition ?? "");
  return found ? found[1] : null;
}

export function client(apiKey, base = "") {
  const auth = {};
  if (apiKey) {
    // Both spellings laoke accepts; a proxy that strips one still passes the other.
    auth.Authorization = `Bearer ${apiKey}`;
    auth["X-API-Key"] = apiKey;
  }

  async function request(path, params, accept = "application/json") {
    const response = await fetch(`${base}${path}${query(params)}`, {
      headers: { ...auth, Accept: accept },
    });
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
    /** `baseline`: with the never-complained customers (the "twice as loyal" comparison). */
    satisfaction: (dealership, from, to, baseline = false) =>
      json("/v1/metrics/satisfaction", { dealership_id: dealership, from, to, baseline: baseline ? "true" : null }),
    /** Where the period's new customers came from and why customers were lost in it. */
    retention: (dealership, from, to) => json("/v1/metrics/retention", { dealership_id: dealership, from, to }),
    /** The dealership's customers by class as of now (one answer, however many). */
    classes: (dealership) => json("/v1/metrics/classes", { dealership_id: dealership }),
    /** One page of the work list: `list` = { status, advisor_id, reason, channel }. */
    followups: (dealership, list, cursor, limit) =>
      json("/v1/followups", { dealership_id: dealership, ...list, cursor, limit }),
    /** The first complaints filed in the period (a sample: their SLA due times). */
    complaints: async (dealership, from, to, limit) =>
      (await json("/v1/complaints", { dealership_id: dealership, from, to, limit })).items,
    /** A whole list as CSV (`Accept: text/csv`; the API has no `?format=`): the blob and
     * the file name the API gives it. */
    async csv(path, params) {
      const response = await request(path, params, "text/csv");
      return { blob: await response.blob(), name: filenameOf(response.headers.get("content-disposition")) };
    },
  };
}

/** Hand a blob to the browser as a download named `name`. */
export function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download has read it by then
}
