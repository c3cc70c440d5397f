/**
 * The Odoo connection's rate governor and the order writer's concurrency, over real HTTP: a proxy in front
 * of the emulator picks which call fails, hangs or waits. No test measures time; they watch the order of
 * events (what reached the ERP while what else was waiting).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, sampleOrder, startFixture } from "../../../test/fixtures/odoo.ts";
import { startRpcProxy, until } from "../../../test/helpers/rpc-proxy.ts";
import type { WriteContext } from "../../ports/connector.ts";
import { OdooClient } from "./client.ts";
import { OdooConfig } from "./config.ts";

const wctx: WriteContext = { resolve: async () => null };

describe("odoo connection governor", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture({ orders: 0 });
  });
  after(async () => fx.emu.close());

  const clientVia = (url: string, concurrency: number, sleep?: (ms: number) => Promise<void>) =>
    new OdooClient(
      OdooConfig.parse({
        url,
        db: fx.emu.db,
        username: fx.emu.login,
        password: fx.emu.password,
        concurrency,
      }),
      "erp",
      sleep ? { sleep } : {},
    );

  test("a 429 pauses every request of the connection for its Retry-After, reads and writes alike", async () => {
    let first = true;
    const proxy = await startRpcProxy(fx.emu.url, (call) => {
      if (call.method !== "search_count" || !first) return undefined;
      first = false;
      return { status: 429, headers: { "retry-after": "7" }, body: "slow down" };
    });
    let requested: number | null = null;
    let release: () => void = () => undefined;
    let sleepAsked: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => {
      sleepAsked = resolve;
    });
    const client = clientVia(proxy.url, 4, (ms) => {
      requested = ms;
      sleepAsked();
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    try {
      await client.authenticate();
      const err = await client.execute("res.partner", "search_count", [[]]).catch((e: unknown) => e);
      assert.equal((err as { kind?: string }).kind, "rate_limited");
      const before = proxy.calls.length;
      const read = client.searchRead("res.partner", [], ["id"], { limit: 1 });
      const write = client.execute("res.partner", "create", [{ name: "Paused Writer" }]);
      const answered = Promise.allSettled([read, write]);
      await Promise.race([asked, answered]);
      assert.equal(requested, 7_000, "the client did not pause for the 429's Retry-After of 7 s");
      assert.equal(proxy.calls.length, before, "a request reached the ERP during the 429's pause");
      assert.ok(client.paused);
      release();
      const [r, w] = await answered;
      assert.equal(r.status, "fulfilled");
      assert.equal(w.status, "fulfilled");
      assert.equal(proxy.calls.length, before + 2);
      assert.equal(client.throttled, 1);
    } finally {
      await proxy.close();
    }
  });

  test("no more requests are in flight than the connection's concurrency", async () => {
    const held: (() => void)[] = [];
    let most = 0;
    const proxy = await startRpcProxy(fx.emu.url, (call) => {
      if (call.method !== "search_read") return undefined;
      most = Math.max(most, proxy.inFlight);
      return new Promise((resolve) => held.push(() => resolve(undefined)));
    });
    try {
      const client = clientVia(proxy.url, 2);
      await client.authenticate();
      const reads = Promise.allSettled(
        Array.from({ length: 5 }, () => client.searchRead("res.partner", [], ["id"], { limit: 1 })),
      );
      await until(
        "2 reads held by the ERP and 3 waiting in the client, or all 5 sent",
        () => held.length === 5 || (held.length === 2 && client.queued === 3),
      );
      assert.equal(held.length, 2, `${held.length} requests reached the ERP at once with concurrency 2`);
      for (let released = 0; released < 5; released++) {
        await until(`read ${released + 1} reaching the ERP`, () => held.length > released);
        held[released]?.();
      }
      assert.deepEqual(
        (await reads).map((r) => r.status),
        Array(5).fill("fulfilled"),
      );
      assert.equal(most, 2);
    } finally {
      for (const r of held) r();
      await proxy.close();
    }
  });

  test("a grouped create that got no answer fails the group as retryable, and the retry creates no sale twice", async () => {
    // The batch's create is held until the client gives up on it (its timeout), then passed on: Odoo
    // creates the sales, the writer never hears so. The retry must find them by client_order_ref.
    let held = 0;
    const proxy = await startRpcProxy(fx.emu.url, async (call) => {
      if (call.model !== "sale.order" || call.method !== "create" || held > 0) return undefined;
      held++;
      await call.abandoned;
      return undefined;
    });
    try {
      const connector = fx.connect({ url: proxy.url, timeoutMs: 1_000 }, "erp");
      const orders = [0, 1, 2].map(() => sampleOrder(fx.skus));
      const writer = connector.writers.order;
      assert.ok(writer);
      const items = orders.map((o) => ({ key: o.key, record: o, targetId: null, externalRef: o.key }));
      const first = await writer.upsert(items, wctx);
      assert.deepEqual(
        first.map((r) => (r.ok ? "ok" : r.error.kind)),
        ["retryable", "retryable", "retryable"],
      );
      await until("the abandoned create to reach Odoo", () =>
        orders.every((o) => fx.emu.data.search("sale.order", [["client_order_ref", "=", o.key]]).length > 0),
      );
      const second = await writer.upsert(items, wctx);
      assert.deepEqual(
        second.map((r) => r.ok),
        [true, true, true],
        JSON.stringify(second.map((r) => (r.ok ? r.action : r.error.message))),
      );
      for (const o of orders) {
        const ids = fx.emu.data.search("sale.order", [["client_order_ref", "=", o.key]]);
        assert.equal(ids.length, 1, `${o.key}: ${ids.length} sales`);
        assert.equal(fx.emu.data.row("sale.order", ids[0] as number)?.state, "sale");
      }
      const creates = proxy.calls.filter((c) => c.model === "sale.order" && c.method === "create");
      assert.equal(creates.length, 1, "the retry created again");
    } finally {
      await proxy.close();
    }
  });

  test("orders of one new customer written at once create one partner", async () => {
    const email = `same-${Date.now()}@example.com`;
    const orders = Array.from({ length: 6 }, () => sampleOrder(fx.skus, { email }));
    const connector = fx.connect({}, "erp");
    const results = await connector.writers.order?.upsert(
      orders.map((o) => ({ key: o.key, record: o, targetId: null, externalRef: o.key })),
      wctx,
    );
    assert.ok(results?.every((r) => r.ok));
    const partners = fx.emu.data.search("res.partner", [["email", "=ilike", email]]);
    assert.equal(partners.length, 1, `${partners.length} partners for ${email}`);
  });

  test("product ids and sale taxes are read once for several batches, and again after a refused order", async () => {
    const proxy = await startRpcProxy(fx.emu.url);
    const few = fx.skus.slice(0, 3);
    try {
      const writer = fx.connect({ url: proxy.url }, "erp").writers.order;
      assert.ok(writer);
      const reads = () => ({
        products: proxy.calls.filter((c) => c.model === "product.product" && c.method === "search_read")
          .length,
        taxes: proxy.calls.filter((c) => c.model === "account.tax").length,
      });
      const write = (orders: ReturnType<typeof sampleOrder>[]) =>
        writer.upsert(
          orders.map((o) => ({ key: o.key, record: o, targetId: null, externalRef: o.key })),
          wctx,
        );
      const first = await write([sampleOrder(few), sampleOrder(few)]);
      assert.ok(first.every((r) => r.ok));
      assert.deepEqual(reads(), { products: 1, taxes: 1 });
      const second = await write([sampleOrder(few), sampleOrder(few)]);
      assert.ok(second.every((r) => r.ok));
      assert.deepEqual(reads(), { products: 1, taxes: 1 }, "the second batch read them again");
      const unknown = sampleOrder(few);
      unknown.lines[0] = { ...(unknown.lines[0] as (typeof unknown.lines)[number]), sku: "NO-SUCH-SKU" };
      const refused = await write([unknown]);
      assert.equal(refused[0]?.ok, false);
      await write([sampleOrder(few)]);
      assert.deepEqual(reads(), { products: 3, taxes: 2 }, "not read again after a refused order");
    } finally {
      await proxy.close();
    }
  });
});
