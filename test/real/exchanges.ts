/**
 * The HTTP exchanges a real-system test records to check them against the vendor's contract afterwards
 * (woocommerce-spec.ts, medusa-spec.ts): one request and its answer, both parsed as JSON where they are.
 */
export interface Exchange {
  method: string;
  url: string;
  body: unknown;
  status: number;
  answer: unknown;
}

/** A fetch that records every JSON exchange it carries. */
export function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init = {}) => {
    const res = await fetch(input, init);
    const text = await res.clone().text();
    let body: unknown;
    try {
      body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    } catch {
      body = init.body;
    }
    let answer: unknown = null;
    try {
      answer = JSON.parse(text);
    } catch {}
    log.push({
      method: (init.method ?? "GET").toUpperCase(),
      url: String(input),
      body,
      status: res.status,
      answer,
    });
    return res;
  };
}
