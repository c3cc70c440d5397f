/**
 * Retries inside a page, on a fake sleep (nothing waits for real): one record's Retry-After must not hold
 * back the records whose own retry comes due sooner. Orders flow between two Odoo emulators; a proxy in
 * front of the target refuses the page's grouped create, then picks which order's lookup before its retry
 * fails and how.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startFixture } from "../../test/fixtures/odoo.ts";
import { startRpcProxy } from "../../test/helpers/rpc-proxy.ts";
import { openStore } from "../store/index.ts";
import type { Flow } from "./flow.ts";
import { SyncEngine } from "./sync.ts";

const RETRY_AFTER_S = 5;

test("while one order waits for its Retry-After, an order whose retry is due sooner is written", async () => {
  const a = await startFixture({ orders: 6, seed: 3 });
  const b = await startFixture({ orders: 0, seed: 3 });
  // The fake sleep: time advances by what is waited for, at once.
  let waited = 0;
  const sleep = async (ms: number) => {
    waited += ms;
  };
  const firstCreate = new Map<string, string>();
  const createdAt = new Map<string, number>();
  let groupRefused = false;
  const proxy = await startRpcProxy(b.emu.url, (call) => {
    if (call.model !== "sale.order") return undefined;
    if (call.method === "create") {
      // The Odoo writer creates a page's new orders in one call: the first such call is refused (a bare
      // 502), so every order of the page is retried on its own, after a lookup by its reference.
      if (!groupRefused) {
        groupRefused = true;
        return { status: 502, body: "bad gateway" };
      }
      const vals = call.args?.[0];
      for (const v of Array.isArray(vals) ? vals : [vals])
        createdAt.set(String((v as { client_order_ref?: unknown })?.client_order_ref), waited);
      return undefined;
    }
    // The engine's lookup before a retry (findByExternalRef): one domain term, client_order_ref = ref.
    const domain = call.args?.[0] as unknown[] | undefined;
    const term = domain?.length === 1 ? (domain[0] as unknown[]) : null;
    if (call.method !== "search_read" || term?.[0] !== "client_order_ref" || term[1] !== "=")
      return undefined;
    const ref = String(term[2]);
    if (!firstCreate.has(ref) && firstCreate.size < 2) {
      // The first order's lookup refused with the proxy's Retry-After; the second with a bare 502 (the policy's backoff).
      firstCreate.set(ref, firstCreate.size === 0 ? "A" : "B");
      return firstCreate.get(ref) === "A"
        ? { status: 503, headers: { "retry-after": String(RETRY_AFTER_S) }, body: "busy" }
        : { status: 502, body: "bad gateway" };
    }
    return undefined;
  });
  const dir = mkdtempSync(join(tmpdir(), "passerelle-retries-"));
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  try {
    await store.migrate();
    const flow: Flow = {
      name: "orders",
      entity: "order",
      source: a.connect({}, "erp-a"),
      target: b.connect({ url: proxy.url }, "erp-b"),
      batchSize: 50,
    };
    const s = await new SyncEngine(store).run(flow, {
      sleep,
      retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 400 },
    });
    assert.equal(s.status, "succeeded", s.error?.message);
    const refOf = (who: string) => [...firstCreate].find(([, w]) => w === who)?.[0] as string;
    const [refA, refB] = [refOf("A"), refOf("B")];
    assert.ok(refA && refB, "the proxy refused two orders' first lookup");
    const atB = createdAt.get(refB);
    const atA = createdAt.get(refA);
    assert.ok(atB !== undefined && atA !== undefined);
    assert.ok(
      atB < RETRY_AFTER_S * 1000,
      `order B was written again only after ${atB} ms of waiting: it waited out order A's Retry-After of ${RETRY_AFTER_S} s`,
    );
    // A waited (on the fake clock and the real one together) for its Retry-After, so it came after B.
    assert.ok(atA > atB, `order A was written again after ${atA} ms of waiting, B after ${atB} ms`);
    for (const ref of [refA, refB]) {
      const sales = b.emu.data.read(
        "sale.order",
        b.emu.data.search("sale.order", [["client_order_ref", "=", ref]]),
        ["state"],
      );
      assert.deepEqual(
        sales.map((x) => x.state),
        ["sale"],
        `${ref}: exactly one confirmed sale`,
      );
    }
  } finally {
    await store.close();
    await proxy.close();
    await a.emu.close();
    await b.emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
