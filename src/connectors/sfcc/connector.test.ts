/**
 * The SFCC connector against its emulator: the Account Manager token (cached until it expires, renewed
 * after a 401, the secret never in an error), the rate limit's 429s waited out, configuration errors that
 * name the field, variation values added to an existing master, and the order writer's cancellations.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type SfccEmulator, sfccSpecSkip, startSfccEmulator } from "@passerelle/emulators";
import { sfccConfigFor, sfccProduct } from "../../../test/fixtures/sfcc-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Order } from "../../core/model.ts";
import { SfccClient } from "./client.ts";
import { apiHost, SfccConfig } from "./config.ts";
import { sfcc } from "./index.ts";

const noLinks = { resolve: async () => null };

describe("the SFCC connector", { skip: sfccSpecSkip() }, () => {
  let emu: SfccEmulator;
  before(async () => {
    emu = await startSfccEmulator({ customers: 3, seed: 2, tokenTtlS: 120 });
  });
  after(async () => {
    assert.deepEqual(emu.violations, [], "requests or answers that break the SCAPI documents");
    await emu.close();
  });

  test("config: shortCode builds the realm's host; bad values name the field", () => {
    const base = {
      organizationId: "f_ecom_zzte_001",
      clientId: "id",
      clientSecret: "secret",
      siteId: "RefArch",
      catalogId: "storefront-catalog",
    };
    const c = SfccConfig.parse({ ...base, shortCode: "kv7kzm78" });
    assert.equal(apiHost(c), "https://kv7kzm78.api.commercecloud.salesforce.com");
    assert.equal(
      new SfccClient("s", c).path("orders", "/orders", { siteId: "RefArch" }),
      "/checkout/orders/v1/organizations/f_ecom_zzte_001/orders?siteId=RefArch",
    );
    assert.deepEqual(c.scopes, [
      "sfcc.products.rw",
      "sfcc.catalogs.rw",
      "sfcc.customerlists",
      "sfcc.orders.rw",
    ]);
    const bad = SfccConfig.safeParse({ ...base, shortCode: "kv7kzm78", organizationId: "zzte_001" });
    assert.ok(!bad.success && bad.error.issues.some((i) => i.path[0] === "organizationId"));
    const neither = SfccConfig.safeParse(base);
    assert.ok(!neither.success && neither.error.issues.some((i) => i.path[0] === "shortCode"));
  });

  test("the token is fetched once, reused, renewed after a 401, and the secret never shows", async () => {
    const c = sfcc.create("sfcc", sfccConfigFor(emu));
    const before = emu.stats.tokens;
    await c.check();
    await c.check();
    await c.check();
    assert.equal(emu.stats.tokens - before, 1, "one token for three calls");
    emu.expireTokens();
    await c.check();
    assert.equal(emu.stats.tokens - before, 2, "a 401 fetches a new token once");
    const wrong = sfcc.create("sfcc-bad", sfccConfigFor(emu, { clientSecret: "s3cr3t-that-is-wrong" }));
    const err = await wrong.check().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SyncError && err.kind === "config", String(err));
    assert.ok(!err.message.includes("s3cr3t-that-is-wrong"), err.message);
    assert.ok(!JSON.stringify(err.details).includes("s3cr3t-that-is-wrong"));
    assert.match(err.message, /Account Manager refused/);
  });

  test("over the rate limit, the 429s are waited out (Retry-After) and the reads complete", async () => {
    const c = sfcc.create("sfcc-limited", sfccConfigFor(emu, { pageSize: 1 }));
    emu.setRateLimit({ requests: 3, windowMs: 1_000 });
    const limitedBefore = emu.stats.rateLimited;
    try {
      const ids: string[] = [];
      for await (const page of c.streams.customer!.list({
        since: null,
        signpost: "2999-01-01T00:00:00Z",
        pageSize: 1,
      }))
        ids.push(...page.map((x) => c.streams.customer!.idOf(x)));
      for (const id of ids) assert.ok(await c.streams.customer!.get(id));
      assert.equal(ids.length, 3);
    } finally {
      emu.setRateLimit(null);
    }
    assert.ok(emu.stats.rateLimited > limitedBefore, "the emulator answered 429");
    assert.ok(c.stats().throttled > 0, "the connector counted the throttling");
  });

  test("a value added to a variation attribute of an existing master", async () => {
    const c = sfcc.create("sfcc", sfccConfigFor(emu));
    const p = sfccProduct("GROW", 2);
    const [first] = await c.writers.product!.upsert(
      [{ key: p.key, record: p, targetId: null, externalRef: p.key }],
      noLinks,
    );
    assert.ok(first?.ok && first.action === "created");
    const grown = sfccProduct("GROW", 3);
    const [second] = await c.writers.product!.upsert(
      [{ key: p.key, record: grown, targetId: "GROW", externalRef: p.key }],
      noLinks,
    );
    assert.ok(second?.ok && second.action === "updated", JSON.stringify(second));
    assert.deepEqual(emu.data.products.get("GROW")?.variants, ["GROW-S", "GROW-M", "GROW-L"]);
    assert.ok(emu.checked.has("createVariationAttributeValue"));
    const tooLong = sfccProduct("X".repeat(101), 1);
    const [refused] = await c.writers.product!.upsert(
      [{ key: tooLong.key, record: tooLong, targetId: null, externalRef: tooLong.key }],
      noLinks,
    );
    assert.ok(refused && !refused.ok && refused.error.kind === "data");
    assert.match(refused.error.message, /variants\[0\]\.sku "X+" is not a B2C Commerce product id/);
  });

  test("orders: a cancellation goes through the status transition; a shipped order cannot be cancelled", async () => {
    const c = sfcc.create("sfcc", sfccConfigFor(emu));
    const customer = [...emu.data.customerLists.get(emu.customerListId)!.keys()][0]!;
    const a = emu.data.placeOrder({
      customerNo: customer,
      lines: [{ productId: "GROW-S", quantity: 1, price: 10 }],
    });
    const b = emu.data.placeOrder({
      customerNo: customer,
      lines: [{ productId: "GROW-M", quantity: 2, price: 10 }],
    });
    emu.data.orders.get(String(b.orderNo))!.shippingStatus = "shipped";
    const read = async (no: string) => {
      const n = await c.streams.order!.get(no);
      assert.ok(n);
      return (await c.streams.order!.toCanonical(n)) as Order;
    };
    const oa = await read(String(a.orderNo));
    assert.equal(oa.total, "12.00");
    assert.equal(oa.totalTax, "2.00");
    const ob = await read(String(b.orderNo));
    const results = await c.writers.order!.upsert(
      [oa, ob].map((o) => ({
        key: o.key,
        record: { ...o, cancelled: true },
        targetId: o.sourceId,
        externalRef: o.key,
      })),
      noLinks,
    );
    assert.ok(results[0]?.ok && results[0].action === "updated");
    assert.equal(emu.data.orders.get(String(a.orderNo))?.status, "cancelled");
    assert.ok(results[1] && !results[1].ok && results[1].error.kind === "permanent");
    assert.match(results[1].error.message, /can't be cancelled/);
    const again = await c.writers.order!.upsert(
      [{ key: oa.key, record: { ...oa, cancelled: true }, targetId: oa.sourceId, externalRef: oa.key }],
      noLinks,
    );
    assert.ok(again[0]?.ok && again[0].action === "unchanged");
    assert.ok((await read(String(a.orderNo))).cancelled);
    assert.ok(emu.checked.has("updateOrderStatus"));
  });
});
