/**
 * The Business Central connector against its emulator, beyond the contract suite: the OAuth2 token (asked
 * once, renewed on a 401, the secret only in the token request and never in an error), the 5-request limit
 * and a 429's Retry-After, server-driven paging, the incremental filter, inventory following the item
 * ledger, variants as SKUs, the order writer's lookup by externalDocumentNumber (also once BC has posted
 * and deleted the order), its hold on totals BC does not agree with, the cancellation as a DELETE with
 * If-Match, and a stale etag refused. Every request and answer is checked against the API v2.0 digest.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import { bcCustomer, bcOrder, bcSettings } from "../../../test/fixtures/business-central-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Order } from "../../core/model.ts";
import type { Connector, Stream } from "../../ports/connector.ts";
import { BusinessCentralClient } from "./client.ts";
import { BusinessCentralConfig } from "./config.ts";
import { businessCentral } from "./index.ts";
import { changedSince } from "./paging.ts";

const noLinks = { resolve: async () => null };
const FAR = "2999-01-01T00:00:00Z";

async function readAll(
  stream: Stream,
  since: { updatedAt: string; id: string } | null = null,
  pageSize = 50,
) {
  const pages: unknown[][] = [];
  for await (const page of stream.list({ since, signpost: FAR, pageSize })) pages.push(page);
  return pages;
}

describe("the Business Central connector", () => {
  let emu: BcEmulator;
  let config: BusinessCentralConfig;
  let conn: Connector;
  before(async () => {
    emu = await startBcEmulator({ items: 25, customers: 6 });
    config = BusinessCentralConfig.parse(bcSettings(emu, { pageSize: 10 }));
    conn = businessCentral.create("bc", config);
  });
  after(async () => {
    await conn.close();
    assert.deepEqual(emu.violations, [], "a request or answer broke the API v2.0 digest");
    console.log(
      `# business-central connector tests: ${emu.checked.size} distinct operations checked against the API v2.0 digest: ${[...emu.checked.keys()].sort().join(", ")}`,
    );
    await emu.close();
  });

  describe("the token", () => {
    test("one token serves every call until it ends; an ended one is replaced once", async () => {
      const tokens = emu.stats.tokens;
      await conn.check();
      await conn.streams.product?.get("ITEM-0001");
      assert.ok(emu.stats.tokens <= tokens + 1);
      const before = emu.stats.tokens;
      emu.expireTokens();
      assert.ok(await conn.streams.product?.get("ITEM-0001"));
      assert.equal(emu.stats.tokens, before + 1);
    });

    test("the secret travels only in the token request's body and never in an error", async () => {
      const withSecret = emu.bodies.filter((b) => b.includes(emu.clientSecret));
      assert.ok(withSecret.length > 0);
      for (const b of withSecret) assert.match(b, /grant_type=client_credentials/);
      const bad = businessCentral.create(
        "bc-bad",
        BusinessCentralConfig.parse(bcSettings(emu, { clientSecret: "s3cret-wrong-value" })),
      );
      const err = await bad.check().catch((e: unknown) => e);
      assert.ok(err instanceof SyncError && err.kind === "config", String(err));
      assert.doesNotMatch(`${err.message} ${JSON.stringify(err)}`, /s3cret-wrong-value/);
      assert.match(err.message, /invalid_client/);
    });

    test("bad settings name the field and the value", () => {
      const r = BusinessCentralConfig.safeParse({ ...bcSettings(emu), companyId: "CRONUS" });
      assert.ok(!r.success);
      assert.deepEqual(r.error.issues[0]?.path, ["companyId"]);
    });
  });

  describe("limits", () => {
    test("no more than 5 requests are in flight, so Business Central's limit is never met", async () => {
      const slow = await startBcEmulator({ items: 3, customers: 1, delayMs: 30 });
      try {
        const c = businessCentral.create("bc-slow", BusinessCentralConfig.parse(bcSettings(slow)));
        const customers = Array.from({ length: 12 }, (_, i) => bcCustomer(500 + i));
        const results =
          (await c.writers.customer?.upsert(
            customers.map((x) => ({ key: x.key, record: x, targetId: null, externalRef: x.key })),
            noLinks,
          )) ?? [];
        assert.equal(results.filter((r) => r.ok).length, 12, JSON.stringify(results.filter((r) => !r.ok)));
        assert.ok(slow.stats.peakInFlight <= 5, `peak ${slow.stats.peakInFlight}`);
        assert.ok(slow.stats.peakInFlight > 1, "the writes did not overlap at all");
        assert.equal(slow.stats.throttled, 0);
        assert.deepEqual(slow.violations, []);
      } finally {
        await slow.close();
      }
    });

    test("a 429 on a read waits for its Retry-After and is tried again", async () => {
      const tight = await startBcEmulator({ items: 3, customers: 1, delayMs: 200, maxConcurrent: 1 });
      try {
        const cfg = BusinessCentralConfig.parse(bcSettings(tight, { maxConcurrent: 3 }));
        const c = businessCentral.create("bc-tight", cfg);
        await c.check();
        const got = await Promise.all(
          ["ITEM-0001", "ITEM-0002", "ITEM-0003"].map((n) => c.streams.product?.get(n)),
        );
        assert.equal(got.filter(Boolean).length, 3);
        assert.ok(tight.stats.throttled >= 1, "the emulator never answered 429");
        assert.ok(c.stats().throttled >= 1, "the connector did not count the 429");
      } finally {
        await tight.close();
      }
    });
  });

  describe("reads", () => {
    test("pages follow @odata.nextLink at the configured page size", async () => {
      const calls = emu.checked.get("GET items") ?? 0;
      const pages = await readAll(conn.streams.product as Stream);
      assert.equal(pages.flat().length, 25);
      assert.ok((emu.checked.get("GET items") ?? 0) - calls >= 3, "25 items at 10 a page take 3 requests");
    });

    test("an incremental read asks for lastModifiedDateTime at or after the cursor", async () => {
      assert.equal(
        changedSince("2026-06-01T10:00:00.123Z"),
        "lastModifiedDateTime ge 2026-06-01T10:00:00.123Z",
      );
      const all = (await readAll(conn.streams.customer as Stream)).flat();
      const last = conn.streams.customer?.updatedAtOf(all[all.length - 1] as never) as string;
      const id = [...emu.data.customers.values()][0]?.id as string;
      emu.data.patchCustomer(id, { phoneNumber: "+33 1 99 99 99 99" });
      const changed = (
        await readAll(conn.streams.customer as Stream, { updatedAt: last, id: "" })
      ).flat() as {
        id: string;
      }[];
      assert.ok(changed.some((c) => c.id === id));
      assert.ok(changed.length < all.length);
    });

    test("inventory is the item's total, and a posted ledger entry brings its item into the next incremental read", async () => {
      const stream = conn.streams.inventory as Stream;
      const all = (await readAll(stream)).flat();
      assert.equal(all.length, 25);
      const cursor = all
        .map((r) => stream.updatedAtOf(r as never))
        .sort()
        .at(-1) as string;
      const item = [...emu.data.items.values()].find((i) => i.number === "ITEM-0007") as {
        id: string;
        inventory: number;
      };
      const stamp = item as unknown as { lastModifiedDateTime: string };
      const before = stamp.lastModifiedDateTime;
      emu.data.post(item.id, 5, "Positive Adjmt.");
      assert.equal(stamp.lastModifiedDateTime, before, "posting stock leaves the item unchanged, as in BC");
      const rows = (await readAll(stream, { updatedAt: cursor, id: "" })).flat();
      const levels = rows.map(
        (r) => stream.toCanonical(r as never) as { sku: string; onHand: number; location: string },
      );
      const level = levels.find((l) => l.sku === "ITEM-0007");
      assert.ok(level, JSON.stringify(levels));
      assert.equal(level.onHand, Math.trunc(item.inventory));
      assert.equal(level.location, "ALL");
    });

    test("an item's variants are its SKUs, each at the item's price", async () => {
      const row = await conn.streams.product?.get("ITEM-0004");
      const p = conn.streams.product?.toCanonical(row as never) as {
        variants: { sku: string; price: string; options: Record<string, string> }[];
      };
      assert.deepEqual(
        p.variants.map((v) => [v.sku, v.options.Variant]),
        [
          ["ITEM-0004-S", "S"],
          ["ITEM-0004-M", "M"],
          ["ITEM-0004-L", "L"],
        ],
      );
      assert.equal(new Set(p.variants.map((v) => v.price)).size, 1);
    });
  });

  describe("the order writer", () => {
    const email = "customer1@example.com";
    const write = (o: Order, targetId: string | null = null) =>
      conn.writers.order?.upsert([{ key: o.key, record: o, targetId, externalRef: o.key }], noLinks) ?? [];
    const ordersOf = (ref: string) =>
      [...emu.data.salesOrders.values()].filter((o) => o.externalDocumentNumber === ref);

    test("a crash between the create and its record finds the order by externalDocumentNumber", async () => {
      const o = bcOrder(email);
      const [first] = await write(o);
      assert.ok(first?.ok && first.action === "created", JSON.stringify(first));
      const [again] = await write(o);
      assert.ok(again?.ok && again.action === "unchanged", JSON.stringify(again));
      assert.equal(again.targetId, first.targetId);
      assert.equal(ordersOf(o.key).length, 1);
    });

    test("an order BC has shipped, invoiced and deleted is found among its posted documents", async () => {
      const o = bcOrder(email);
      const [first] = await write(o);
      assert.ok(first?.ok, JSON.stringify(first));
      emu.data.ship(first.targetId);
      emu.data.invoice(first.targetId);
      emu.data.salesOrders.delete(first.targetId);
      const creates = emu.checked.get("POST salesOrders") ?? 0;
      const [again] = await write(o);
      assert.ok(again?.ok && again.action === "unchanged", JSON.stringify(again));
      assert.match(again.note ?? "", /posted/);
      assert.equal(emu.checked.get("POST salesOrders") ?? 0, creates, "no second order");
    });

    test("a total BC does not agree with holds the order and fails the record with both totals, on every run", async () => {
      const o = { ...bcOrder(email), total: "99.99" };
      const [r] = await write(o);
      assert.ok(r && !r.ok);
      assert.match(r.error.message, /30\.60 EUR.*99\.99/);
      assert.equal(ordersOf(o.key).length, 1, "the order stays in BC, unreleased");
      assert.equal(ordersOf(o.key)[0]?.status, "Draft");
      const [again] = await write(o);
      assert.ok(again && !again.ok);
      assert.equal(ordersOf(o.key).length, 1);
    });

    test("discounts, shipping and a variant SKU reach BC as BC takes them", async () => {
      const o = bcOrder(email, {
        orderDiscount: "3.00",
        shipping: "4.90",
        skus: ["ITEM-0001", "ITEM-0004-M"],
      });
      const [r] = await write(o);
      assert.ok(r?.ok, JSON.stringify(r));
      const lines = emu.data.linesOf(r.targetId);
      const variant = [...emu.data.itemVariants.values()].find(
        (v) => v.itemNumber === "ITEM-0004" && v.code === "M",
      );
      assert.equal(lines[1]?.itemVariantId, variant?.id);
      assert.deepEqual(lines[2] && [lines[2].lineType, lines[2].lineObjectNumber, lines[2].unitPrice], [
        "Account",
        "6190",
        4.9,
      ]);
      assert.equal(emu.data.salesOrders.get(r.targetId)?.discountAmount, 3);
    });

    test("a cancellation deletes the order with If-Match; again, it is unchanged; a shipped order is refused", async () => {
      const o = bcOrder(email);
      const [r] = await write(o);
      assert.ok(r?.ok, JSON.stringify(r));
      const [cancelled] = await write({ ...o, cancelled: true }, r.targetId);
      assert.ok(cancelled?.ok && cancelled.action === "updated", JSON.stringify(cancelled));
      assert.equal(ordersOf(o.key).length, 0);
      const [again] = await write({ ...o, cancelled: true }, r.targetId);
      assert.ok(again?.ok && again.action === "unchanged", JSON.stringify(again));

      const shipped = bcOrder(email);
      const [s] = await write(shipped);
      assert.ok(s?.ok);
      const order = emu.data.salesOrders.get(s.targetId) as Record<string, unknown>;
      for (const l of emu.data.linesOf(s.targetId)) l.shippedQuantity = 1;
      order.lastModifiedDateTime = emu.data.stamp();
      const [refused] = await write({ ...shipped, cancelled: true }, s.targetId);
      assert.ok(refused && !refused.ok && refused.error.kind === "permanent", JSON.stringify(refused));
      assert.ok(emu.data.salesOrders.has(s.targetId));
    });

    test("a reference longer than externalDocumentNumber's 35 characters is refused by name", async () => {
      const o = bcOrder(email);
      const long = { ...o, key: `shop:${"x".repeat(40)}` };
      const [r] = await write(long);
      assert.ok(r && !r.ok);
      assert.match(r.error.message, /externalDocumentNumber/);
    });
  });

  test("a PATCH with a stale @odata.etag is refused (412), never applied", async () => {
    const client = new BusinessCentralClient("bc-etag", config);
    const id = [...emu.data.customers.keys()][1] as string;
    const row = await client.get(`customers(${id})`);
    const etag = String(row?.["@odata.etag"]);
    await client.update(`customers(${id})`, etag, { phoneNumber: "+33 1 11 11 11 11" });
    const err = await client
      .update(`customers(${id})`, etag, { phoneNumber: "+33 1 22 22 22 22" })
      .catch((e: unknown) => e);
    assert.ok(err instanceof SyncError, String(err));
    assert.match(err.message, /412/);
    assert.equal(emu.data.customers.get(id)?.phoneNumber, "+33 1 11 11 11 11");
  });
});
