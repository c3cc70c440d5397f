/**
 * Fault injection for the emulators: each request rolls a seeded die and may get a 5xx, a 429 with the
 * vendor's headers, no answer at all (a timeout: the client gives up), a slow answer, or — the nastiest
 * case — the write is applied and then the connection is dropped, so the client never learns it happened.
 *
 * The generic part (rates, parsing of `5xx=0.05,timeout=0.02,...`, the die) is shared with the Shopify
 * emulator; the Odoo answers are below.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Rng, rng } from "../util.ts";

export const FAULT_KINDS = ["5xx", "429", "timeout", "slow", "drop"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultOptions {
  /** Probability per request of each fault, 0..1; their sum must not exceed 1. */
  rates?: Partial<Record<FaultKind, number>>;
  seed?: number;
  /** Delay of a slow answer (default 2,000 ms). */
  slowMs?: number;
  /** Retry-After sent with a 429, in seconds; fractions allowed (default 1). */
  retryAfterS?: number;
}

export interface FaultStats {
  requests: number;
  injected: Record<FaultKind, number>;
}

/**
 * What happens to one request. `drop` only applies to writes: a read that rolls `drop` is answered normally
 * and passes the drop on to the next write that rolls no other fault, so the drop rate stays a share of all
 * requests however few of them write (a client that batches its writes meets drops as often as one that
 * writes record by record, instead of almost never).
 */
export type FaultDecision = FaultKind | null;

export class FaultInjector {
  #rates: Record<FaultKind, number> = { "5xx": 0, "429": 0, timeout: 0, slow: 0, drop: 0 };
  #rng: Rng = rng(1);
  /** A drop rolled by a read, owed to the next write. */
  #dropOwed = false;
  slowMs = 2_000;
  retryAfterS = 1;
  readonly stats: FaultStats = {
    requests: 0,
    injected: { "5xx": 0, "429": 0, timeout: 0, slow: 0, drop: 0 },
  };

  constructor(opts: FaultOptions = {}) {
    this.configure(opts);
  }

  /** Replaces the rates (unnamed kinds become 0) and, when given, the seed and timings. */
  configure(opts: FaultOptions): void {
    const rates: Record<FaultKind, number> = { "5xx": 0, "429": 0, timeout: 0, slow: 0, drop: 0 };
    for (const [kind, rate] of Object.entries(opts.rates ?? {})) {
      if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
        throw new Error(`unknown fault ${JSON.stringify(kind)}; known: ${FAULT_KINDS.join(", ")}`);
      }
      if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) {
        throw new Error(`fault rate ${kind} must be between 0 and 1, got ${JSON.stringify(rate)}`);
      }
      rates[kind as FaultKind] = rate;
    }
    const total = Object.values(rates).reduce((a, b) => a + b, 0);
    if (total > 1 + 1e-9) throw new Error(`fault rates add up to ${Number(total.toFixed(6))}, more than 1`);
    this.#rates = rates;
    this.#dropOwed = false;
    if (opts.seed !== undefined) this.#rng = rng(opts.seed);
    if (opts.slowMs !== undefined) this.slowMs = opts.slowMs;
    if (opts.retryAfterS !== undefined) this.retryAfterS = opts.retryAfterS;
  }

  get active(): boolean {
    return Object.values(this.#rates).some((r) => r > 0);
  }

  /** Rolls for one request; `write` says whether a dropped connection would lose a write's answer. */
  roll(write: boolean): FaultDecision {
    this.stats.requests++;
    if (!this.active) return null;
    let r = this.#rng.next();
    for (const kind of FAULT_KINDS) {
      const rate = this.#rates[kind];
      if (r < rate) {
        if (kind === "drop" && !write) {
          this.#dropOwed = true;
          return null;
        }
        this.stats.injected[kind]++;
        return kind;
      }
      r -= rate;
    }
    if (write && this.#dropOwed) {
      this.#dropOwed = false;
      this.stats.injected.drop++;
      return "drop";
    }
    return null;
  }
}

/**
 * Parses `5xx=0.05,timeout=0.02,429=0.01,drop=0.03,slow=0.01[,seed=7][,slowMs=500][,retryAfterS=1]`
 * (rates may also be written as percentages: `5xx=5%`).
 */
export function parseFaults(text: string): FaultOptions {
  const rates: Partial<Record<FaultKind, number>> = {};
  const out: FaultOptions = { rates };
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9]+)=([0-9.]+)(%?)$/.exec(part);
    if (!m)
      throw new Error(`--faults: cannot read ${JSON.stringify(part)}; expected name=value, e.g. 5xx=0.05`);
    const [, name, raw, pct] = m as unknown as [string, string, string, string];
    const value = Number(raw);
    if (!Number.isFinite(value))
      throw new Error(`--faults: ${name} has no numeric value (${JSON.stringify(raw)})`);
    if (name === "seed") out.seed = value;
    else if (name === "slowMs") out.slowMs = value;
    else if (name === "retryAfterS") out.retryAfterS = value;
    else if ((FAULT_KINDS as readonly string[]).includes(name))
      rates[name as FaultKind] = pct ? value / 100 : value;
    else {
      throw new Error(
        `--faults: unknown fault ${JSON.stringify(name)}; known: ${FAULT_KINDS.join(", ")}, seed, slowMs, retryAfterS`,
      );
    }
  }
  new FaultInjector(out); // validates
  return out;
}

export { setTimeout as sleep } from "node:timers/promises";

/** Methods of Odoo's external API that only read; anything else may change data. */
const ODOO_READS = new Set([
  "search_read",
  "search",
  "search_count",
  "read",
  "fields_get",
  "name_search",
  "name_get",
  "read_group",
  "check_access_rights",
  "default_get",
]);

/** Whether an Odoo JSON-RPC call's params describe a write. */
export function odooCallIsWrite(params: Record<string, unknown>): boolean {
  if (params.service !== "object") return false;
  const fn = Array.isArray(params.args) ? params.args[4] : undefined;
  return typeof fn === "string" && !ODOO_READS.has(fn);
}

/**
 * Answers a request the way a faulty Odoo deployment would, for the faults that stop it before Odoo runs:
 * true when the request was handled (or deliberately left hanging).
 */
export function odooFaultBefore(fault: FaultDecision, faults: FaultInjector, res: ServerResponse): boolean {
  if (fault === "5xx") {
    // What a reverse proxy in front of a busy Odoo answers.
    res.writeHead(503, { "content-type": "text/html", "retry-after": "1" });
    res.end(
      "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>",
    );
    return true;
  }
  if (fault === "429") {
    res.writeHead(429, { "content-type": "text/html", "retry-after": String(faults.retryAfterS) });
    res.end("<html><body><h1>429 Too Many Requests</h1></body></html>");
    return true;
  }
  // A timeout: never answer; the client gives up and closes the socket.
  return fault === "timeout";
}

/** The write was applied; the answer is lost with the connection. */
export function dropConnection(req: IncomingMessage, res: ServerResponse): void {
  res.socket?.destroy();
  req.socket.destroy();
}
