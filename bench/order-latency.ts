/**
 * Order latency: the Shopify emulator takes `--rate` orders a second for `--seconds` seconds and sends each
 * one's webhooks (orders/create, orders/paid, … signed with the app secret) to a real `passerelle run`
 * process (its own process, SQLite store, the repository's passerelle.yaml: the orders flow triggered by
 * events), while the Odoo emulator adds `--erp-delay-ms` to every JSON-RPC call. The emulators run in this
 * process, as in the end-to-end tests.
 *
 * Measured per order: from the first of its webhooks answered 2xx by Passerelle (received and durably
 * stored; the emulator's delivery log keeps when each POST started and was answered) to the Odoo emulator's
 * create_date of the sale order (microsecond stamp of the call that created it). Sampled every second: the
 * backlog (orders placed but not yet in the ERP) and the inbox's pending events, to show whether it grows.
 * Orders a second sustained: orders created in the ERP during the emitting window / its length. After the
 * emitting window the bench waits for the backlog to drain (at most `--drain-seconds`), then checks that
 * every order is in the ERP exactly once.
 *
 * Baseline in the same run: the webhook ack alone (POST start → 2xx) and the ERP's own floor for one order
 * (the ERP calls one order costs × the added delay), so the latency is read against what the vendor side
 * makes unavoidable. Where the time goes: the ERP's calls by method during the run.
 *
 *   npm run bench:orders                                   # 50 orders/s for 120 s
 *   npm run bench:orders -- --seconds 20 --rate 10         # shorter
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { placeOrders } from "@passerelle/emulators";
import Database from "better-sqlite3";
import { rng } from "../src/core/prng.ts";
import type { Store } from "../src/ports/store.ts";
import { openStore } from "../src/store/index.ts";
import { explain, type LiveCli, startCli, startWorld, waitFor } from "../test/e2e/helpers.ts";
import { loadAverages, saveResult } from "./lib/measure.ts";

export const orderLatencyOptions = {
  seconds: { type: "string", default: "120" },
  rate: { type: "string", default: "50" },
  "erp-delay-ms": { type: "string", default: "80" },
  "drain-seconds": { type: "string", default: "300" },
  products: { type: "string", default: "20" },
} as const;

export function parseOrderLatencyArgs(argv: string[]): {
  seconds: number;
  rate: number;
  erpDelayMs: number;
  drainSeconds: number;
  products: number;
} {
  const { values } = parseArgs({ args: argv, options: orderLatencyOptions, strict: true });
  const num = (name: keyof typeof values, min: number): number => {
    const raw = values[name];
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min)
      throw new Error(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    seconds: num("seconds", 1),
    rate: num("rate", 0.1),
    erpDelayMs: num("erp-delay-ms", 0),
    drainSeconds: num("drain-seconds", 0),
    products: num("products", 1),
  };
}

/** An Odoo create_date ("2026-12-04 00:10:11.123456", UTC) in ms since the epoch. */
export function odooStampMs(stamp: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/.exec(stamp);
  if (!m) throw new Error(`not an Odoo datetime: ${JSON.stringify(stamp)}`);
  const micro = Number((m[3] ?? "0").padEnd(6, "0"));
  return Date.parse(`${m[1]}T${m[2]}Z`) + micro / 1000;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** CPU ms (user + system) of a process so far, from /proc. */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function main(): Promise<void> {
  const opts = parseOrderLatencyArgs(process.argv.slice(2));
  const loadBefore = loadAverages();
  console.log(
    `order latency: ${opts.rate} orders/s for ${opts.seconds} s, ERP +${opts.erpDelayMs} ms per call, load ${loadBefore.join(" ")}`,
  );
  const world = await startWorld({
    products: opts.products,
    // No API budget on the shop: the measure is Passerelle's path, not Shopify's throttle.
    shopRateLimit: { enabled: false, maximumAvailable: 20_000, restoreRate: 1_000 },
  });
  let run: LiveCli | null = null;
  let store: Store | null = null;
  try {
    const setup = await world.cli(["sync", "products", "prices", "stock", "customers"]);
    if (setup.code !== 0) throw new Error(`catalogue set-up failed: ${explain(setup)}`);
    const { shopify, odoo } = world.systems;
    for (const item of shopify.data.inventoryItems.values())
      for (const level of item.levels.values()) {
        level.available = 1_000_000;
        level.on_hand = 1_000_000;
      }
    const env = { ...world.env, PASSERELLE_LOG_LEVEL: "warn" };
    const liveRun = startCli(["run", "--port", "0"], env);
    run = liveRun;
    const base = await waitFor("the server to listen", () => {
      return /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(liveRun.stderr())?.[1] ?? null;
    });
    const reg = await world.cli(["webhooks", "register", "shopify", "--address", `${base}/webhooks/shopify`]);
    if (reg.code !== 0) throw new Error(`webhooks register failed: ${explain(reg)}`);
    store = await openStore(world.storeUrl);
    const inbox = store.openInbox();

    // ERP orders before the run (none expected: the world has no ERP sales) and the clocks at the start.
    const refsBefore = new Set(odoo.data.rows("sale.order").map((o) => String(o.client_order_ref)));
    odoo.limiter.configure({ delayMs: opts.erpDelayMs });
    odoo.resetStats();
    const logFrom = shopify.webhooks.log.length;
    const cpu0 = cpuMsOf(liveRun.pid);
    const random = rng(4242);
    const placed: { name: string; at: number }[] = [];
    const samples: { t: number; placed: number; inErp: number; backlog: number; inboxPending: number }[] = [];
    const inErp = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const o of odoo.data.rows("sale.order")) {
        const ref = String(o.client_order_ref);
        if (refsBefore.has(ref) || !ref.startsWith("shopify:")) continue;
        const at = odooStampMs(String(o.create_date));
        const was = m.get(ref);
        if (was === undefined || at < was) m.set(ref, at);
      }
      return m;
    };
    const sample = async (t0: number): Promise<void> => {
      const n = inErp().size;
      const pending = await inbox.count({ connection: "shopify", status: "pending" });
      samples.push({
        t: Math.round((Date.now() - t0) / 100) / 10,
        placed: placed.length,
        inErp: n,
        backlog: placed.length - n,
        inboxPending: pending,
      });
    };

    // Emit: every 100 ms the orders due by now (so the rate holds even when a tick is late).
    const t0 = Date.now();
    const endEmit = t0 + opts.seconds * 1000;
    let nextSample = t0 + 1000;
    while (Date.now() < endEmit) {
      const due = Math.floor(((Date.now() - t0) / 1000) * opts.rate) - placed.length;
      if (due > 0) {
        const at = Date.now();
        for (const p of placeOrders(shopify, due, random)) placed.push({ name: p.name, at });
      }
      if (Date.now() >= nextSample) {
        await sample(t0);
        nextSample += 1000;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const emitEnd = Date.now();
    const inErpAtEmitEnd = inErp().size;
    const cpuEmit = cpuMsOf(liveRun.pid) - cpu0;
    console.log(`emitted ${placed.length} orders; ${inErpAtEmitEnd} in the ERP when emitting stopped`);

    // Drain: wait for every order, sampling on.
    const drainEnd = Date.now() + opts.drainSeconds * 1000;
    while (inErp().size < placed.length && Date.now() < drainEnd) {
      await sample(t0);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await sample(t0);
    await shopify.webhooks.settle();
    const allDoneAt = Date.now();
    const loadAfter = loadAverages();
    const created = inErp();

    // Per order: first 2xx webhook answer (and first POST start) → ERP create_date.
    const nameOf = new Map<string, string>();
    for (const o of shopify.data.orders.values()) nameOf.set(o.id, o.name);
    const firstAck = new Map<string, number>();
    const firstSent = new Map<string, number>();
    const ackMs: number[] = [];
    let failedDeliveries = 0;
    for (const l of shopify.webhooks.log.slice(logFrom)) {
      if (!l.topic.startsWith("ORDERS_")) continue;
      const ref = `shopify:${nameOf.get(l.recordId) ?? l.recordId}`;
      if (typeof l.status !== "number" || l.status >= 300) {
        failedDeliveries++;
        continue;
      }
      if (l.sentAt === undefined || l.answeredAt === undefined) continue;
      ackMs.push(l.answeredAt - l.sentAt);
      if (!firstAck.has(ref) || l.answeredAt < (firstAck.get(ref) ?? 0)) firstAck.set(ref, l.answeredAt);
      if (!firstSent.has(ref) || l.sentAt < (firstSent.get(ref) ?? 0)) firstSent.set(ref, l.sentAt);
    }
    const fromAck: number[] = [];
    const fromPlaced: number[] = [];
    const missing: string[] = [];
    for (const p of placed) {
      const ref = `shopify:${p.name}`;
      const at = created.get(ref);
      if (at === undefined) {
        missing.push(p.name);
        continue;
      }
      const ack = firstAck.get(ref);
      if (ack !== undefined) fromAck.push(at - ack);
      fromPlaced.push(at - p.at);
    }
    const dupes = new Map<string, number>();
    for (const o of odoo.data.rows("sale.order")) {
      const ref = String(o.client_order_ref);
      if (ref.startsWith("shopify:")) dupes.set(ref, (dupes.get(ref) ?? 0) + 1);
    }
    const duplicated = [...dupes.values()].filter((n) => n > 1).length;
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const stats = (xs: number[]) => {
      const s = sorted(xs);
      return {
        count: s.length,
        p50: Math.round(percentile(s, 0.5)),
        p90: Math.round(percentile(s, 0.9)),
        p99: Math.round(percentile(s, 0.99)),
        max: Math.round(s.at(-1) ?? Number.NaN),
      };
    };
    const emitS = (emitEnd - t0) / 1000;
    const createdInWindow = [...created.values()].filter((at) => at <= emitEnd).length;
    const byMethod = Object.fromEntries(
      Object.entries(odoo.stats.byMethod).sort((a, b) => Number(b[1]) - Number(a[1])),
    );
    const erpCalls = odoo.limiter.stats.accepted;
    const callsPerOrder = created.size > 0 ? erpCalls / created.size : Number.NaN;
    // Backlog growth: the backlog's slope over the emitting window's second half (orders per second).
    const half = samples.filter((s) => s.t >= opts.seconds / 2 && s.t <= opts.seconds);
    const slope =
      half.length >= 2
        ? ((half.at(-1)?.backlog ?? 0) - (half[0]?.backlog ?? 0)) /
          ((half.at(-1)?.t ?? 0) - (half[0]?.t ?? 0))
        : Number.NaN;
    // Where the time goes: the orders flow's passes (the store's runs), their sizes, their length and the
    // gaps between them (coalescing, job pick-up), over the emitting window.
    const db = new Database(world.storeUrl.slice("sqlite:".length), { readonly: true });
    const runs = db
      .prepare(
        "select started_at, finished_at, read, created, updated, skipped, failed, calls from runs where flow = 'orders' and finished_at is not null order by id",
      )
      .all() as {
      started_at: string;
      finished_at: string;
      read: number;
      created: number;
      updated: number;
      skipped: number;
      failed: number;
      calls: number;
    }[];
    db.close();
    const inWindow = runs.filter(
      (r) => Date.parse(r.started_at) >= t0 && Date.parse(r.started_at) <= emitEnd,
    );
    const passMs = inWindow.map((r) => Date.parse(r.finished_at) - Date.parse(r.started_at));
    const gaps = inWindow
      .slice(1)
      .map((r, i) => Date.parse(r.started_at) - Date.parse(inWindow[i]?.finished_at ?? r.started_at));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const passes = {
      count: inWindow.length,
      readPerPass: Math.round((sum(inWindow.map((r) => r.read)) / Math.max(1, inWindow.length)) * 10) / 10,
      createdPerPass:
        Math.round((sum(inWindow.map((r) => r.created)) / Math.max(1, inWindow.length)) * 10) / 10,
      passMs: stats(passMs),
      gapMs: stats(gaps),
      busyShare: Math.round((sum(passMs) / (emitEnd - t0)) * 100) / 100,
      msPerCreatedInPasses: Math.round(sum(passMs) / Math.max(1, sum(inWindow.map((r) => r.created)))),
    };
    const result = {
      rate: opts.rate,
      seconds: opts.seconds,
      erpDelayMs: opts.erpDelayMs,
      placed: placed.length,
      createdInErp: created.size,
      missing: missing.length,
      duplicated,
      failedDeliveries,
      loadBefore,
      loadAfter,
      latencyFromAckMs: stats(fromAck),
      latencyFromPlacedMs: stats(fromPlaced),
      ackMs: stats(ackMs),
      sustainedPerS: Math.round((createdInWindow / emitS) * 100) / 100,
      wholePerS: Math.round((created.size / ((allDoneAt - t0) / 1000)) * 100) / 100,
      drainAfterEmitS: Math.round((allDoneAt - emitEnd) / 100) / 10,
      backlogSlopePerS: Math.round(slope * 100) / 100,
      backlogAtEmitEnd: placed.length - inErpAtEmitEnd,
      erpCalls,
      erpCallsPerOrder: Math.round(callsPerOrder * 10) / 10,
      erpFloorPerOrderMs: Math.round(callsPerOrder * opts.erpDelayMs),
      erpByMethod: byMethod,
      passes,
      passerelleCpuMsWhileEmitting: cpuEmit,
      passerelleCpuShare: Math.round((cpuEmit / (emitEnd - t0)) * 100) / 100,
      samples,
    };
    const { samples: _s, erpByMethod: _m, ...summary } = result;
    console.log(JSON.stringify(summary, null, 2));
    console.log(`ERP calls by method: ${JSON.stringify(byMethod)}`);
    const path = saveResult(`order-latency-${opts.rate}x${opts.seconds}`, result);
    console.log(`saved ${path}`);
    if (missing.length > 0)
      console.log(
        `${missing.length} orders not in the ERP after the drain: ${missing.slice(0, 10).join(", ")}`,
      );
  } finally {
    run?.kill("SIGTERM");
    await run?.exited;
    await store?.close();
    await world.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
