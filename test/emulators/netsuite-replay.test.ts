/**
 * The ERP side of the loop replayed against the NetSuite emulator through the connector, every request held
 * to the documented shapes: the catalogue and customers are read out through SuiteQL (paged by offset while
 * hasMore, then incrementally on lastmodifieddate); shop customers and their orders go in and, written a
 * second time, are found again (by e-mail, by otherRefNum) and never doubled; an order whose total NetSuite
 * computes differently is held pending approval; a connection allowed more requests in flight than the
 * account's limit meets 429 CONCURRENCY_LIMIT_EXCEEDED and still finishes. Fails on any violation and
 * reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type NetSuiteEmulator, startNetSuiteEmulator } from "@passerelle/emulators";
import { NetSuiteConfig } from "../../src/connectors/netsuite/config.ts";
import { netsuite } from "../../src/connectors/netsuite/index.ts";
import { type CanonicalByEntity, type EntityName, type Order, SCHEMAS } from "../../src/core/model.ts";
import type { Connector, ListRequest, Stream } from "../../src/ports/connector.ts";
import { netsuiteCustomer, netsuiteOrder } from "../fixtures/netsuite-contract.ts";

describe("the ERP side replayed against the NetSuite emulator", () => {
  let emu: NetSuiteEmulator;
  let erp: Connector;
  const noLinks = { resolve: async () => null };
  const settings = (e: NetSuiteEmulator, extra: Record<string, unknown> = {}) =>
    NetSuiteConfig.parse({
      accountId: e.accountId,
      url: e.url,
      consumerKey: e.consumerKey,
      consumerSecret: e.consumerSecret,
      tokenId: e.tokenId,
      tokenSecret: e.tokenSecret,
      pageSize: 7,
      ...extra,
    });

  async function readAll<E extends EntityName>(c: Connector, entity: E, since: ListRequest["since"] = null) {
    const stream = c.streams[entity] as Stream<E> | undefined;
    assert.ok(stream, `netsuite cannot read ${entity}`);
    const out: CanonicalByEntity[E][] = [];
    for await (const page of stream.list({ since, signpost: "2999-01-01T00:00:00Z", pageSize: 7 }))
      for (const n of page)
        out.push(SCHEMAS[entity].parse(await stream.toCanonical(n)) as CanonicalByEntity[E]);
    return out;
  }

  async function write<E extends "customer" | "order">(entity: E, records: CanonicalByEntity[E][]) {
    const writer = erp.writers[entity];
    assert.ok(writer);
    return writer.upsert(
      records.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })) as never,
      noLinks,
    );
  }

  before(async () => {
    emu = await startNetSuiteEmulator({ items: 30, customers: 10 });
    erp = netsuite.create("erp", settings(emu));
  });
  after(async () => {
    await erp.close();
    await emu.close();
  });

  test("catalogue and customers out, customers and orders in, idempotent, totals compared, shapes kept", async () => {
    const products = await readAll(erp, "product");
    assert.equal(products.length, 30);
    assert.deepEqual(
      products.map((p) => p.key),
      [...products.map((p) => p.key)].sort(),
      "items read in lastmodifieddate order",
    );
    assert.equal((await readAll(erp, "customer")).length, 10);

    // Incremental: only what changed at or after the cursor.
    const last = products.at(-1);
    assert.ok(last);
    const firstId = products[0]?.sourceId as string;
    emu.touch("inventoryItem", firstId, { displayName: "Renamed" });
    const changed = await readAll(erp, "product", { updatedAt: last.updatedAt, id: last.sourceId } as never);
    assert.deepEqual(
      changed.map((p) => p.title),
      [last.title, "Renamed"],
    );

    const customers = Array.from({ length: 4 }, (_, i) => netsuiteCustomer(7000 + i));
    assert.ok((await write("customer", customers)).every((r) => r.ok));
    const writes = emu.stats.writes;
    const again = await write("customer", customers);
    assert.ok(again.every((r) => r.ok && r.action === "unchanged"));
    assert.equal(emu.stats.writes, writes, "customers written again changed NetSuite");

    const orders = customers.map((c) => netsuiteOrder(c.email));
    const created = await write("order", orders);
    assert.deepEqual(
      created.map((r) => (r.ok ? r.action : r.error.message)),
      orders.map(() => "created"),
    );
    const salesOrders = emu.records.get("salesOrder");
    assert.equal(salesOrders?.size, 4);
    for (const so of salesOrders?.values() ?? [])
      assert.equal(so.orderStatus, "B", "approved once totals agree");
    const twice = await write("order", orders);
    assert.ok(twice.every((r) => r.ok && r.action === "unchanged"));
    assert.equal(salesOrders?.size, 4, "an order written again was doubled");

    // A shop total NetSuite does not compute: held pending approval, both totals named.
    const off: Order = { ...netsuiteOrder(customers[0]?.email as string), total: "99.99" };
    const [held] = await write("order", [off]);
    assert.ok(held && !held.ok);
    assert.match(held.error.message, /30\.60.*99\.99/);
    const heldSo = [...(salesOrders?.values() ?? [])].find((s) => s.otherRefNum === off.key);
    assert.equal(heldSo?.orderStatus, "A");

    assert.deepEqual(emu.violations, []);
    console.log(
      `# netsuite replay: ${emu.checked.size} distinct operations checked against the documented shapes: ${[...emu.checked.keys()].sort().join(", ")}`,
    );
  });

  test("beyond the account's concurrency limit NetSuite answers 429 and the read still finishes", async () => {
    const tight = await startNetSuiteEmulator({ items: 40, maxConcurrent: 1, delayMs: 30 });
    const greedy = netsuite.create("greedy", settings(tight, { maxConcurrent: 4, pageSize: 5 }));
    try {
      const stream = greedy.streams.product as Stream<"product">;
      const reads = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          let n = 0;
          for await (const page of stream.list({
            since: null,
            signpost: "2999-01-01T00:00:00Z",
            pageSize: 5,
          }))
            n += page.length;
          return n;
        }),
      );
      assert.deepEqual(reads, [40, 40, 40, 40]);
      assert.ok(tight.stats.throttled > 0, "no request was ever throttled");
      assert.deepEqual(tight.violations, []);
    } finally {
      await greedy.close();
      await tight.close();
    }
  });
});
