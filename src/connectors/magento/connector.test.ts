/**
 * Magento behaviour beyond the shared contract, against the emulator (behind Adobe's OpenAPI document):
 * the global scope of catalogue writes, configurable order lines, cancellations written back, the store
 * view check and Magento's own words in a refusal.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { magentoSpecSkip } from "@passerelle/emulators";
import {
  type MagentoContractFixture,
  magentoContractFixture,
  magentoProduct,
} from "../../../test/fixtures/magento-contract.ts";
import { SyncError } from "../../core/errors.ts";
import { type Order, SCHEMAS } from "../../core/model.ts";
import type { Connector } from "../../ports/connector.ts";
import { magento } from "./index.ts";

describe("the Magento connector against the emulator", { skip: magentoSpecSkip() }, () => {
  let fx: MagentoContractFixture;
  let shop: Connector;
  const noLinks = { resolve: async () => null };

  before(async () => {
    fx = await magentoContractFixture();
    shop = magento.create("magento", fx.config);
  });
  after(async () => {
    assert.deepEqual(fx.emu.violations, []);
    await fx.teardown();
  });

  test("catalogue writes go through the global scope: an update leaves no store view value behind", async () => {
    const p = magentoProduct("SCOPED", 2);
    const write = (r: typeof p) =>
      shop.writers.product!.upsert([{ key: r.key, record: r, targetId: null, externalRef: r.key }], noLinks);
    assert.equal((await write(p))[0]?.ok, true);
    const [r] = await write({ ...p, title: "Renamed" });
    assert.ok(r?.ok && r.action === "updated");
    const held = fx.emu.data.products.get("SCOPED")!;
    assert.equal(held.name, "Renamed");
    assert.equal(held.overrides.size, 0, "a store view got its own value");
    assert.equal(held.type_id, "configurable");
    assert.equal(held.children.length, 2);
  });

  test("an ordered configurable product is one line with the child's SKU, not two", async () => {
    const child = "BASE-0-S";
    const o = fx.emu.data.placeOrder({ customerId: 1, lines: [{ sku: child, qty: 2 }] });
    assert.equal(o.items.length, 2, "Magento records a parent and a child line");
    const stream = shop.streams.order!;
    const native = await stream.get(String(o.entity_id));
    assert.ok(native);
    const order = SCHEMAS.order.parse(await stream.toCanonical(native)) as Order;
    assert.deepEqual(
      order.lines.map((l) => [l.sku, l.quantity, l.unitPrice]),
      [[child, 2, "12.50"]],
    );
    assert.equal(order.total, "35.00"); // 25.00 + 20 % tax + 5.00 shipping
  });

  test("an order the ERP withdrew is cancelled in Magento; a shipped one is refused with the reason", async () => {
    const open = fx.emu.data.placeOrder({ customerId: 2, lines: [{ sku: "SIMPLE-0", qty: 1 }] });
    const shipped = fx.emu.data.placeOrder({ customerId: 2, lines: [{ sku: "SIMPLE-1", qty: 1 }] });
    await shop.writers.shipment!.upsert(
      [
        {
          key: "erp:S1",
          targetId: null,
          externalRef: "erp:S1",
          record: {
            source: "erp",
            sourceId: "S1",
            updatedAt: "2026-06-01T00:00:00Z",
            key: "erp:S1",
            orderKey: `magento:${shipped.increment_id}`,
            orderNumber: shipped.increment_id,
            trackingNumbers: ["T1"],
            trackingUrls: [],
            lines: [],
            shippedAt: "2026-06-01T00:00:00Z",
          },
        },
      ],
      noLinks,
    );
    const read = async (id: number) => {
      const s = shop.streams.order!;
      return SCHEMAS.order.parse(await s.toCanonical((await s.get(String(id)))!)) as Order;
    };
    const writer = shop.writers.order!;
    assert.equal(writer.updateOnly, true);
    const results = await writer.upsert(
      [open, shipped].map((o) => ({
        key: `magento:${o.increment_id}`,
        targetId: String(o.entity_id),
        externalRef: `magento:${o.increment_id}`,
        record: { ...o, key: `magento:${o.increment_id}`, cancelled: true } as never,
      })),
      noLinks,
    );
    const [a, b] = results;
    assert.ok(a?.ok && a.action === "updated");
    assert.equal(fx.emu.data.orders.get(open.entity_id)?.state, "canceled");
    assert.ok((await read(open.entity_id)).cancelled);
    assert.ok(b && !b.ok);
    assert.match(b.error.message, /cannot cancel order/);
    assert.equal(fx.emu.data.orders.get(shipped.entity_id)?.state, "complete");
  });

  test("a refusal carries Magento's own message; check() names a missing store view", async () => {
    const done = fx.emu.data.placeOrder({ customerId: 3, lines: [{ sku: "SIMPLE-0", qty: 1 }] });
    fx.emu.data.orders.get(done.entity_id)!.state = "canceled";
    const [r] = await shop.writers.shipment!.upsert(
      [
        {
          key: "erp:S2",
          targetId: null,
          externalRef: "erp:S2",
          record: {
            source: "erp",
            sourceId: "S2",
            updatedAt: "2026-06-01T00:00:00Z",
            key: "erp:S2",
            orderKey: `magento:${done.increment_id}`,
            orderNumber: done.increment_id,
            trackingNumbers: ["T2"],
            trackingUrls: [],
            lines: [],
            shippedAt: "2026-06-01T00:00:00Z",
          },
        },
      ],
      noLinks,
    );
    assert.ok(r && !r.ok);
    assert.equal(r.error.kind, "permanent");
    assert.match(r.error.message, /HTTP 400 .*does not allow a shipment to be created/s);
    const err = await magento
      .create("m2", { ...fx.config, storeCode: "de" })
      .check()
      .catch((e: unknown) => e);
    assert.ok(err instanceof SyncError && err.kind === "config");
    assert.match(err.message, /no store view "de"/);
    assert.equal(err.details.field, "storeCode");
  });

  test("a large stock change goes through the async bulk API and waits for its operations", async () => {
    const bulky = magento.create("magento-bulk", { ...fx.config, bulkThreshold: 2 });
    const skus = ["BASE-1-S", "BASE-1-M", "BASE-2-S", "BASE-2-M", "SIMPLE-1"];
    const levels = skus.map((sku, i) => ({
      source: "erp",
      sourceId: sku,
      updatedAt: "2026-06-01T00:00:00Z",
      key: `${sku}@default`,
      sku,
      location: "default",
      onHand: 40 + i,
      reserved: 0,
      safetyStock: 0,
      available: 40 + i,
    }));
    const before = fx.emu.checked.get("GetV1BulkBulkUuidStatus") ?? 0;
    const results = await bulky.writers.inventory!.upsert(
      levels.map((l) => ({ key: l.key, record: l, targetId: null, externalRef: l.key })),
      noLinks,
    );
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, true, true, true, true],
    );
    for (const l of levels)
      assert.equal(fx.emu.data.sourceItems.get(`${l.sku}|default`)?.quantity, l.available);
    assert.ok(
      (fx.emu.checked.get("GetV1BulkBulkUuidStatus") ?? 0) - before >= 2,
      "the bulk was polled until done",
    );
    assert.equal(fx.emu.data.bulks.size > 0, true);
  });

  test("a customer changed while the stream pages moves to the end without making another go missing", async () => {
    // Magento's currentPage is an offset: a record that moves to the end while paging would shift the
    // others back and one would never be read. The stream asks first pages of a keyset instead.
    const stream = shop.streams.customer!;
    const all: string[] = [];
    for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 100 }))
      all.push(...page.map((c) => stream.idOf(c)));
    const seen: string[] = [];
    let touched = false;
    await new Promise((r) => setTimeout(r, 1100)); // Magento's timestamps are to the second
    for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 2 })) {
      seen.push(...page.map((c) => stream.idOf(c)));
      if (!touched) {
        touched = true;
        const first = fx.emu.data.customers.get(Number(seen[0]))!;
        first.updated_at = new Date().toISOString().slice(0, 19).replace("T", " ");
      }
    }
    const missed = all.filter((id) => !seen.includes(id));
    assert.deepEqual(missed, []);
    assert.equal(
      seen.filter((id) => id === seen[0]).length,
      2,
      "the changed customer is read again at the end",
    );
  });
});
