/**
 * What the contract suite does not reach: the emulator's refusal of requests its documents do not allow,
 * pacing on the store's rate quota, the batch endpoints chosen for large updates, inventory_tracking modes,
 * cancellations, and webhook subscriptions and signed deliveries (the vendor's example payloads, signed by
 * the standardwebhooks library).
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  type BigCommerceEmulator,
  bigcommerceSpecSkip,
  bigcommerceWebhookPayloads,
  startBigCommerceEmulator,
} from "@passerelle/emulators";
import { Webhook } from "standardwebhooks";
import { bigcommerceProduct } from "../../../test/fixtures/bigcommerce-contract.ts";
import type { InventoryLevel, Order } from "../../core/model.ts";
import { BigCommerceConfig } from "./config.ts";
import { bigcommerce } from "./index.ts";
import { receiveBigCommerceWebhook } from "./webhooks.ts";

const noLinks = { resolve: async () => null };
const stock = (sku: string, location: string, available: number): InventoryLevel => ({
  source: "erp",
  sourceId: sku,
  updatedAt: "2026-06-01T00:00:00Z",
  key: `${sku}@${location}`,
  sku,
  location,
  onHand: available,
  reserved: 0,
  safetyStock: 0,
  available,
});

describe("the BigCommerce connector beyond the contract", { skip: bigcommerceSpecSkip() }, () => {
  let emu: BigCommerceEmulator;
  const connect = (extra: Record<string, unknown> = {}) =>
    bigcommerce.create(
      "bc",
      BigCommerceConfig.parse({
        apiUrl: emu.apiBase,
        accessToken: emu.token,
        clientSecret: emu.clientSecret,
        ...extra,
      }),
    );
  before(async () => {
    emu = await startBigCommerceEmulator({ customers: 12, seed: 2, quota: 100_000 });
  });
  after(() => emu?.close());

  test("a request the documents do not allow is refused with a 400 naming what broke them", async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${emu.apiBase}${path}`, {
        method: "POST",
        headers: {
          "x-auth-token": emu.token,
          accept: "application/json",
          "content-type": "application/json",
        },
        body: JSON.stringify(body),
      });
    const before = emu.violations.length;
    const wrongType = await post("v3/catalog/products", {
      name: "Mug",
      type: "physical",
      weight: 1,
      price: "cheap",
    });
    assert.equal(wrongType.status, 400);
    assert.match(JSON.stringify(await wrongType.json()), /price must be number/);
    const unknownField = await post("v3/catalog/products", {
      name: "Mug",
      type: "physical",
      weight: 1,
      price: 2,
      colour: "red",
    });
    assert.equal(unknownField.status, 400);
    assert.match(JSON.stringify(await unknownField.json()), /colour/);
    const missing = await post("v3/catalog/products", { name: "Mug", type: "physical", weight: 1 });
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(await missing.json()), /price/);
    const badQuery = await fetch(`${emu.apiBase}v3/customers?date_modified:minimum=2026-01-01`, {
      headers: { "x-auth-token": emu.token, accept: "application/json" },
    });
    assert.equal(badQuery.status, 400);
    assert.match(JSON.stringify(await badQuery.json()), /date_modified:minimum is not declared/);
    const notAnId = await fetch(`${emu.apiBase}v2/orders/first`, {
      headers: { "x-auth-token": emu.token, accept: "application/json" },
    });
    assert.equal(notAnId.status, 400);
    assert.match(JSON.stringify(await notAnId.json()), /order_id must be an integer/);
    assert.equal(emu.violations.length - before, 5, "each refused request is recorded as a violation");
    assert.equal(emu.data.products.size, 0, "nothing refused was written");
    emu.violations.length = before;
  });

  test("the client waits for the quota window instead of meeting a 429, and reports the quota", async () => {
    emu.setQuota(3, 300);
    const shop = connect({ pageSize: 1 });
    try {
      let n = 0;
      for await (const page of shop.streams.customer!.list({
        since: null,
        signpost: "2999-01-01T00:00:00Z",
        pageSize: 1,
      }))
        n += page.length;
      assert.equal(n, 12);
      assert.equal(emu.stats.throttled, 0, "a request met the quota");
      assert.ok(shop.quotaWaits() > 0, "the client never waited for a window");
      assert.equal(shop.stats().rateLimit?.maximumAvailable, 3);
      assert.equal(shop.stats().rateLimit?.restoreRatePerSecond, 10);
    } finally {
      emu.setQuota(100_000, 30_000);
    }
  });

  test("a 429 from a spent quota is rate_limited with the wait the reset header gives", async () => {
    emu.setQuota(0, 2_000);
    try {
      const err = await connect()
        .check()
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(err && typeof err === "object" && "kind" in err);
      assert.equal((err as { kind: string }).kind, "rate_limited");
      assert.ok(
        ((err as unknown as { details: { retryAfterMs?: number } }).details.retryAfterMs ?? 0) >= 1000,
      );
    } finally {
      emu.setQuota(100_000, 30_000);
    }
  });

  test("many product updates go through the batch endpoints, 10 products per call", async () => {
    const shop = connect({ batchThreshold: 3 });
    const products = Array.from({ length: 12 }, (_, i) => bigcommerceProduct(`BATCH-${i}`, 1));
    const w = shop.writers.product!;
    const write = (ps: typeof products) =>
      w.upsert(
        ps.map((p) => ({ key: p.key, record: p, targetId: null, externalRef: p.key })),
        noLinks,
      );
    assert.ok((await write(products)).every((r) => r.ok));
    const before = emu.checked.get("products_catalog.v3.yml#updateProducts") ?? 0;
    const renamed = products.map((p) => ({
      ...p,
      title: `${p.title} v2`,
      variants: p.variants.map((v) => ({ ...v, price: "30.00" })),
    }));
    const results = await write(renamed);
    assert.ok(results.every((r) => r.ok && r.action === "updated"));
    assert.equal((emu.checked.get("products_catalog.v3.yml#updateProducts") ?? 0) - before, 2);
    assert.equal(emu.data.productBySku("BATCH-11")?.name, "Contract BATCH-11 v2");
    assert.equal(emu.data.productBySku("BATCH-11")?.price, 30);
    const options = Array.from({ length: 4 }, (_, i) => bigcommerceProduct(`VBATCH-${i}`, 3));
    assert.ok((await write(options)).every((r) => r.ok));
    const repriced = options.map((p) => ({
      ...p,
      variants: p.variants.map((v) => ({ ...v, price: "44.00" })),
    }));
    assert.ok((await write(repriced)).every((r) => r.ok && r.action === "updated"));
    assert.equal(emu.checked.get("product-variants_catalog.v3.yml#updateVariantsBatch"), 1);
    assert.equal(emu.data.variantBySku("VBATCH-0-M")?.price, 44);
  });

  test("stock respects inventory_tracking: none is switched on (or refused), product-level tracking takes no variant stock", async () => {
    const w = connect().writers.inventory!;
    const put = (levels: InventoryLevel[], shop = w) =>
      shop.upsert(
        levels.map((l) => ({ key: l.key, record: l, targetId: null, externalRef: l.key })),
        noLinks,
      );
    const simple = bigcommerceProduct("TRACK-S", 1);
    const optioned = bigcommerceProduct("TRACK-V", 2);
    await connect().writers.product!.upsert(
      [simple, optioned].map((p) => ({ key: p.key, record: p, targetId: null, externalRef: p.key })),
      noLinks,
    );
    const s = emu.data.productBySku("TRACK-S")!;
    const v = emu.data.productBySku("TRACK-V")!;
    s.inventory_tracking = "none";
    const refused = await put(
      [stock("TRACK-S", "BC-LOCATION-1", 4)],
      connect({ untrackedStock: "refuse" }).writers.inventory!,
    );
    assert.ok(!refused[0]!.ok && /inventory_tracking none/.test(refused[0]!.error.message));
    const enabled = await put([stock("TRACK-S", "BC-LOCATION-1", 4)]);
    assert.ok(enabled[0]!.ok);
    assert.equal(s.inventory_tracking, "product");
    assert.equal(emu.data.inventory.get(`${s.variants[0]!.id}|1`), 4);
    v.inventory_tracking = "product";
    const byProduct = await put([stock("TRACK-V-S", "eu-warehouse", 2)]);
    assert.ok(!byProduct[0]!.ok && /tracks inventory by product/.test(byProduct[0]!.error.message));
    v.inventory_tracking = "variant";
    const byVariant = await put([stock("TRACK-V-S", "eu-warehouse", 2), stock("TRACK-V-M", "2", 3)]);
    assert.ok(byVariant.every((r) => r.ok));
    assert.equal(emu.data.inventory.get(`${emu.data.variantBySku("TRACK-V-M")!.id}|2`), 3);
    const unknown = await put([stock("TRACK-V-S", "moon-base", 2)]);
    assert.ok(!unknown[0]!.ok && /no location for "moon-base"/.test(unknown[0]!.error.message));
  });

  test("a cancelled sale cancels the order (status_id 5); a shipped order is not cancelled", async () => {
    const shop = connect();
    const p = bigcommerceProduct("CANCEL-1", 1);
    await shop.writers.product!.upsert(
      [{ key: p.key, record: p, targetId: null, externalRef: p.key }],
      noLinks,
    );
    const open = emu.data.placeOrder({ customerId: 1, lines: [{ sku: "CANCEL-1", qty: 1 }] });
    const shipped = emu.data.placeOrder({ customerId: 1, lines: [{ sku: "CANCEL-1", qty: 1 }] });
    shipped.status_id = 2;
    const stream = shop.streams.order!;
    const canon = async (id: number) => (await stream.toCanonical((await stream.get(String(id)))!)) as Order;
    const cancel = async (id: number) => {
      const o = { ...(await canon(id)), cancelled: true };
      return (
        await shop.writers.order!.upsert(
          [{ key: o.key, record: o, targetId: String(id), externalRef: o.key }],
          noLinks,
        )
      )[0]!;
    };
    const done = await cancel(open.id);
    assert.ok(done.ok && done.action === "updated");
    assert.equal(open.status_id, 5);
    assert.equal((await canon(open.id)).cancelled, true);
    const refused = await cancel(shipped.id);
    assert.ok(!refused.ok && /is Shipped: it cannot be cancelled/.test(refused.error.message));
  });

  test("webhooks: subscriptions are registered once, and signed deliveries reach the receiver", async () => {
    const received: { status: number; topic?: string; recordId?: string | null }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
        );
        const out = receiveBigCommerceWebhook(
          { rawBody: Buffer.concat(chunks), headers, query: {} },
          emu.clientSecret,
          new Date(),
        );
        const status = out.kind === "reject" ? out.status : 200;
        received.push({
          status,
          ...(out.kind === "events"
            ? { topic: out.events[0]!.topic, recordId: out.events[0]!.recordId }
            : {}),
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/bc`;
    try {
      const shop = connect();
      const first = await shop.webhooks!.register(url);
      assert.equal(first.created.length, shop.webhooks!.topics.length);
      const again = await shop.webhooks!.register(url);
      assert.equal(again.created.length, 0);
      assert.equal(again.existing.length, shop.webhooks!.topics.length);
      assert.deepEqual(await emu.deliver("store/order/created", { type: "order", id: 250 }), [200]);
      assert.deepEqual(received.at(-1), { status: 200, topic: "store/order/created", recordId: "250" });
      assert.deepEqual(
        await emu.deliver("store/shipment/created", { type: "shipment", id: 12, orderId: 251 }),
        [200],
      );
      assert.deepEqual(received.at(-1), { status: 200, topic: "store/shipment/created", recordId: "251" });
      const gone = await shop.webhooks!.unregister(url);
      assert.equal(gone.length, shop.webhooks!.topics.length);
    } finally {
      server.close();
    }
  });

  test("the vendor's example payloads, signed by the standardwebhooks library, verify; tampered or stale ones do not", () => {
    const signer = new Webhook(Buffer.from(emu.clientSecret, "utf8").toString("base64"));
    const payloads = bigcommerceWebhookPayloads();
    assert.ok(payloads.size >= 9);
    const entities: Record<string, string | null> = {};
    for (const [file, payload] of payloads) {
      const raw = JSON.stringify(payload);
      const now = new Date();
      const id = `msg_${file}`;
      const headers = {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": signer.sign(id, now, raw),
      };
      const ok = receiveBigCommerceWebhook(
        { rawBody: Buffer.from(raw), headers, query: {} },
        emu.clientSecret,
        now,
      );
      assert.equal(ok.kind, "events", file);
      if (ok.kind === "events") {
        const p = payload as { scope: string; hash: string };
        assert.equal(ok.events[0]!.dedupeKey, `bigcommerce:${p.scope}:${p.hash}`);
        entities[file] = ok.events[0]!.entity;
      }
      const tampered = receiveBigCommerceWebhook(
        { rawBody: Buffer.from(raw.replace(/\d/, "9")), headers, query: {} },
        emu.clientSecret,
        now,
      );
      assert.equal(tampered.kind, "reject", `${file} tampered`);
      const stale = receiveBigCommerceWebhook(
        { rawBody: Buffer.from(raw), headers, query: {} },
        emu.clientSecret,
        new Date(now.getTime() + 600_000),
      );
      assert.equal(stale.kind, "reject", `${file} replayed 10 minutes later`);
      const otherSecret = receiveBigCommerceWebhook(
        { rawBody: Buffer.from(raw), headers, query: {} },
        "another-secret",
        now,
      );
      assert.equal(otherSecret.kind, "reject", `${file} under another secret`);
    }
    assert.equal(entities["store_order_created.json"], "order");
    assert.equal(entities["store_shipment_created.json"], "order");
    assert.equal(entities["store_customer_updated.json"], "customer");
    assert.equal(entities["store_product_updated.json"], null);
  });

  test("nothing the connector sent in these tests broke the documents", () => {
    assert.deepEqual(emu.violations, []);
  });
});
