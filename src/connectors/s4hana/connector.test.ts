/**
 * The S/4HANA connector's own rules, against the emulator: the CSRF token fetched once and refetched once
 * when the Gateway refuses it, server paging followed without a page above the size asked, incremental
 * reads, the hold of an order whose total S/4HANA does not confirm, and no secret in an error.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type S4Emulator, s4SpecSkip, startS4Emulator } from "@passerelle/emulators";
import { s4Customer, s4Order } from "../../../test/fixtures/s4hana-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Order } from "../../core/model.ts";
import type { Connector } from "../../ports/connector.ts";
import { S4HanaConfig } from "./config.ts";
import { s4hana } from "./index.ts";
import { dateTimeOffsetLiteral, fromV2Date, toV2Date } from "./odata.ts";
import { refFor } from "./writers/order.ts";

const noLinks = { resolve: async () => null };

describe("the S/4HANA connector", { skip: s4SpecSkip() }, () => {
  let emu: S4Emulator;
  let erp: Connector;
  let settings: Record<string, unknown>;
  before(async () => {
    emu = await startS4Emulator({ products: 11, partners: 3, seed: 7, maxPageSize: 3 });
    settings = {
      url: emu.url,
      username: emu.username,
      password: emu.password,
      holdDeliveryBlock: "ZH",
      rejectionReason: "ZC",
    };
    erp = s4hana.create("erp", S4HanaConfig.parse(settings));
  });
  after(async () => {
    await erp.close();
    await emu.close();
  });

  test("OData V2 values: /Date(ms)/ both ways, datetimeoffset literals", () => {
    assert.equal(fromV2Date("/Date(1780308000000+0000)/"), "2026-06-01T10:00:00.000Z");
    assert.equal(fromV2Date("/Date(1780272000000)/"), "2026-06-01T00:00:00.000Z");
    assert.equal(toV2Date("2026-06-01T10:00:00Z"), "/Date(1780272000000)/");
    assert.equal(dateTimeOffsetLiteral("2026-06-01T10:00:00.250Z"), "datetimeoffset'2026-06-01T10:00:00Z'");
    assert.equal(fromV2Date("nonsense"), null);
  });

  test("a shop reference longer than PurchaseOrderByCustomer's 35 characters is cut with a hash, stably", () => {
    const long = `shop:${"x".repeat(60)}`;
    assert.equal(refFor(long).length, 35);
    assert.equal(refFor(long), refFor(long));
    assert.notEqual(refFor(long), refFor(`${long}y`));
    assert.equal(refFor("shop:1001"), "shop:1001");
  });

  test("reads follow __next inside each $top window and never yield a page above the size asked", async () => {
    const stream = erp.streams.product;
    assert.ok(stream);
    const pages: unknown[][] = [];
    for await (const p of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 5 }))
      pages.push(p);
    assert.equal(pages.flat().length, 11);
    assert.ok(
      pages.every((p) => p.length <= 3),
      "the server's page of 3 is kept",
    );
    assert.ok(
      emu.requests.some((r) => r.path.includes("$skiptoken=")),
      "a __next link was followed",
    );
    assert.ok(
      emu.requests.some((r) => r.path.includes("$skip=5")),
      "the next $top window was asked",
    );
  });

  test("an incremental read asks LastChangeDateTime ge the cursor and gets only later changes", async () => {
    const stream = erp.streams.product;
    assert.ok(stream);
    const all: unknown[] = [];
    for await (const p of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 50 }))
      all.push(...p);
    const last = all[all.length - 1];
    const cursor = { updatedAt: stream.updatedAtOf(last), id: stream.idOf(last) };
    emu.data.touchProduct("TG0003");
    const later: string[] = [];
    for await (const p of stream.list({ since: cursor, signpost: "2999-01-01T00:00:00Z", pageSize: 50 }))
      later.push(...p.map((r) => stream.idOf(r)));
    assert.deepEqual(later, [cursor.id, "TG0003"]);
    assert.ok(
      emu.requests.some((r) => decodeURIComponent(r.path).includes("LastChangeDateTime ge datetimeoffset'")),
    );
  });

  test("the CSRF token is fetched once, and fetched again once when the Gateway refuses it", async () => {
    const writer = erp.writers.customer;
    assert.ok(writer);
    const fetches = emu.stats.csrfFetches;
    const first = await writer.upsert(
      [{ key: "a", record: s4Customer(9001), targetId: null, externalRef: "a" }],
      noLinks,
    );
    assert.ok(first[0]?.ok);
    await writer.upsert([{ key: "b", record: s4Customer(9002), targetId: null, externalRef: "b" }], noLinks);
    assert.equal(emu.stats.csrfFetches - fetches, 1, "one token for the session");
    emu.expireCsrfTokens();
    const refused = emu.stats.csrfRefusals;
    const again = await writer.upsert(
      [{ key: "c", record: s4Customer(9003), targetId: null, externalRef: "c" }],
      noLinks,
    );
    assert.ok(again[0]?.ok, again[0]?.ok === false ? again[0].error.message : "");
    assert.equal(emu.stats.csrfRefusals - refused, 1);
    assert.equal(emu.stats.csrfFetches - fetches, 2);
    const sent = emu.requests.filter((r) => r.method === "POST");
    assert.ok(
      sent.every((r) => typeof r.headers.cookie === "string" && r.headers.cookie.includes("SAP_SESSIONID")),
    );
    assert.deepEqual(emu.violations, []);
  });

  test("an order whose net S/4HANA prices differently stays blocked and fails with both totals", async () => {
    const writer = erp.writers.order;
    assert.ok(writer);
    const good = s4Order("s4-customer-1@example.com");
    const bad = { ...s4Order("s4-customer-2@example.com"), total: "99.99" };
    const results = await writer.upsert(
      [good, bad].map((o) => ({ key: o.key, record: o, targetId: null, externalRef: o.key })),
      noLinks,
    );
    const ok = results.find((r) => r.key === good.key);
    const held = results.find((r) => r.key === bad.key);
    assert.ok(ok?.ok);
    assert.equal(emu.data.order(ok.targetId).DeliveryBlockReason, "", "the hold is lifted once totals agree");
    assert.ok(held && !held.ok);
    assert.equal(held.error.kind, "data");
    assert.match(held.error.message, /net 25\.50 EUR but the shop's net is/);
    const row = [...emu.data.orders.values()].find((o) => o.PurchaseOrderByCustomer === bad.key);
    assert.equal(row?.DeliveryBlockReason, "ZH", "kept blocked");
    // Written again: found by its reference, still held, never doubled.
    const count = emu.data.orders.size;
    const second = await writer.upsert(
      [{ key: bad.key, record: bad, targetId: null, externalRef: bad.key }],
      noLinks,
    );
    assert.equal(second[0]?.ok, false);
    assert.equal(emu.data.orders.size, count);
    const taxed = { ...s4Order("s4-customer-1@example.com"), taxesIncluded: true };
    const [refused] = await writer.upsert(
      [{ key: taxed.key, record: taxed, targetId: null, externalRef: taxed.key }],
      noLinks,
    );
    assert.ok(refused && !refused.ok);
    assert.equal(refused.error.details.field, "taxesIncluded");
    assert.deepEqual(emu.violations, []);
  });

  test("wrong credentials are a config error that shows neither the password nor the Authorization header", async () => {
    const bad = s4hana.create("erp-bad", S4HanaConfig.parse({ ...settings, password: "Very-Secret-4711" }));
    const err = await bad.check().then(
      () => assert.fail("check passed"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SyncError);
    assert.equal(err.kind, "config");
    const shown = JSON.stringify({ m: err.message, d: err.details });
    assert.ok(!shown.includes("Very-Secret-4711"));
    assert.ok(!shown.includes(Buffer.from(`${emu.username}:Very-Secret-4711`).toString("base64")));
  });

  describe("sales orders of a page in $batch requests", () => {
    const email = "s4-customer-3@example.com";
    const page = (orders: Order[], targetIds: (string | null)[] = []) =>
      orders.map((o, i) => ({ key: o.key, record: o, targetId: targetIds[i] ?? null, externalRef: o.key }));
    const upsert = async (items: ReturnType<typeof page>) =>
      (await erp.writers.order?.upsert(items, noLinks)) ?? [];
    const held = (o: Order) =>
      [...emu.data.orders.values()].filter((d) => d.PurchaseOrderByCustomer === o.key);
    const batches = () => emu.checked.get("API_SALES_ORDER_SRV POST $batch") ?? 0;

    test("a page of six new orders costs five requests (order reads, two customer reads, creates, releases), as the plan says", async () => {
      await erp.writers.order?.upsert(page([s4Order(email), s4Order(email)]), noLinks);
      const orders = Array.from({ length: 6 }, () => s4Order(email));
      const items = page(orders);
      const planned = await erp.writers.order?.estimateCalls(
        { create: items, update: [], lookups: [], first: false },
        noLinks,
      );
      const requests = emu.stats.requests;
      const results = await upsert(items);
      assert.equal(emu.stats.requests - requests, 5);
      assert.equal(planned, 5);
      for (const [i, r] of results.entries()) {
        assert.ok(r.ok && r.action === "created", JSON.stringify(r));
        const [one, ...more] = held(orders[i] as Order);
        assert.equal(more.length, 0);
        assert.equal(String(one?.SalesOrder), r.targetId);
        assert.equal(one?.DeliveryBlockReason, "", "the hold is lifted");
      }
      assert.equal(
        await erp.writers.order?.estimateCalls(
          { create: items.slice(0, 1), update: [], lookups: [], first: false },
          noLinks,
        ),
        5,
        "one order alone: its own five calls",
      );
      // Written again, linked: read by key in one batch, nothing else to do.
      const before = emu.stats.requests;
      const again = await upsert(
        page(
          orders,
          results.map((r) => (r.ok ? r.targetId : null)),
        ),
      );
      assert.equal(emu.stats.requests - before, 1);
      assert.ok(
        again.every((r) => r.ok && r.action === "unchanged"),
        JSON.stringify(again),
      );
      assert.deepEqual(emu.violations, []);
    });

    test("an order with an unknown material fails alone; the others of its page are created", async () => {
      const bad = s4Order(email);
      bad.lines = [{ ...(bad.lines[0] as Order["lines"][number]), sku: "NO-SUCH-MATERIAL" }];
      const [first, refused, third] = await upsert(page([s4Order(email), bad, s4Order(email)]));
      assert.ok(first?.ok && first.action === "created", JSON.stringify(first));
      assert.ok(third?.ok && third.action === "created", JSON.stringify(third));
      assert.ok(refused && !refused.ok, JSON.stringify(refused));
      assert.equal(refused.error.kind, "permanent");
      assert.match(
        refused.error.message,
        /answered HTTP 400 to POST \/sap\/opu\/odata\/sap\/API_SALES_ORDER_SRV\/A_SalesOrder \(A_SalesOrder create, in a \$batch\): Material NO-SUCH-MATERIAL does not exist/,
      );
      assert.equal(held(bad).length, 0);
    });

    test("a create refused with 429 or 503 fails that order as retryable; it is created on the next write", async () => {
      const orders = [s4Order(email), s4Order(email), s4Order(email)];
      emu.partFaults.push(
        { method: "POST", path: /\/A_SalesOrder$/, status: 429 },
        { method: "POST", path: /\/A_SalesOrder$/, status: 503 },
      );
      const [a, b, c] = await upsert(page(orders));
      assert.ok(a && !a.ok && a.error.kind === "rate_limited", JSON.stringify(a));
      assert.equal(a.error.details.retryAfterMs, 1000);
      assert.ok(b && !b.ok && b.error.kind === "retryable", JSON.stringify(b));
      assert.ok(c?.ok && c.action === "created", JSON.stringify(c));
      const again = await upsert(page([orders[0], orders[1]] as Order[]));
      assert.ok(
        again.every((r) => r.ok && r.action === "created"),
        JSON.stringify(again),
      );
      assert.ok(orders.every((o) => held(o).length === 1));
    });

    test("a write $batch whose answer is lost is not sent again; the next attempt finds its orders and creates none twice", async () => {
      const orders = Array.from({ length: 4 }, () => s4Order(email));
      const before = batches();
      emu.dropBatchAnswers(1);
      const lost = await upsert(page(orders));
      assert.equal(batches() - before, 2, "the order reads, then the creates once: never re-sent");
      for (const r of lost) {
        assert.ok(!r.ok && r.error.kind === "retryable", JSON.stringify(r));
        assert.match(r.error.message, /whether it was applied is unknown/);
      }
      assert.ok(orders.every((o) => held(o).length === 1 && held(o)[0]?.DeliveryBlockReason === "ZH"));
      const retried = await upsert(page(orders));
      for (const [i, r] of retried.entries()) {
        assert.ok(r.ok && r.action === "updated", JSON.stringify(r));
        const [one, ...more] = held(orders[i] as Order);
        assert.equal(more.length, 0, "never created twice");
        assert.equal(r.targetId, String(one?.SalesOrder));
        assert.equal(one?.DeliveryBlockReason, "");
      }
    });
  });

  test("the hold delivery block is required and checked", () => {
    const { holdDeliveryBlock: _, ...rest } = settings;
    assert.throws(() => S4HanaConfig.parse(rest), /holdDeliveryBlock/);
    assert.throws(() => S4HanaConfig.parse({ ...settings, holdDeliveryBlock: "toolong" }), /delivery block/);
  });
});
