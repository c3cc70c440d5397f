/**
 * What can be shown without a Medusa server: the connection settings' errors, and the streams' keyset over
 * answers shaped as Medusa gives them (sorted by updated_at only, times in milliseconds), including a
 * millisecond that holds more records than a page. Behaviour against the server itself is proven by
 * test/real/medusa.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Cursor } from "../../core/cursor.ts";
import { Order } from "../../core/model.ts";
import { MedusaConfig } from "./config.ts";
import { createMedusaConnector } from "./index.ts";
import { MedusaOrder } from "./native.ts";

test("settings: one kind of credentials, each problem naming its field", () => {
  const url = "http://127.0.0.1:9000";
  const none = MedusaConfig.safeParse({ url });
  assert.ok(!none.success);
  assert.match(none.error.message, /credentials are missing/);
  const both = MedusaConfig.safeParse({ url, secretKey: "sk_abc", email: "a@example.com", password: "x" });
  assert.ok(!both.success);
  assert.deepEqual(both.error.issues[0]?.path, ["secretKey"]);
  const half = MedusaConfig.safeParse({ url, email: "a@example.com" });
  assert.ok(!half.success);
  assert.deepEqual(half.error.issues[0]?.path, ["password"]);
  const key = MedusaConfig.safeParse({ url, secretKey: "pk_123" });
  assert.ok(!key.success);
  assert.match(key.error.message, /secret API key/);
  const ok = MedusaConfig.parse({ url, secretKey: "sk_abc" });
  assert.deepEqual(ok.basePriceLists, ["default"]);
  assert.equal(ok.pageSize, 50);
});

/** Customers as Medusa's list answers them: `updated_at[$gte]` inclusive, sorted by updated_at only, limit. */
function fakeMedusa(rows: { id: string; updated_at: string }[]) {
  const asked: URL[] = [];
  const fetchApi = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    asked.push(url);
    const gte = url.searchParams.get("updated_at[$gte]");
    const limit = Number(url.searchParams.get("limit"));
    // Medusa's order within one millisecond is its own (microseconds), not by id: reverse ids there.
    const all = rows
      .filter((r) => !gte || Date.parse(r.updated_at) >= Date.parse(gte))
      .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || b.id.localeCompare(a.id));
    const customers = all.slice(0, limit).map((r) => ({
      ...r,
      email: `${r.id}@example.com`,
      first_name: "A",
      last_name: "B",
      has_account: true,
      created_at: r.updated_at,
    }));
    return new Response(JSON.stringify({ customers, count: all.length, offset: 0, limit }), {
      headers: { "content-type": "application/json" },
    });
  }) as typeof fetch;
  return { fetchApi, asked };
}

const T = (ms: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString();

test("the keyset reads every record once, in (updated_at, id) order, when a millisecond outgrows a page", async () => {
  const rows = [
    { id: "cus_01", updated_at: T(1) },
    ...["cus_02", "cus_03", "cus_04", "cus_05", "cus_06"].map((id) => ({ id, updated_at: T(2) })),
    { id: "cus_07", updated_at: T(3) },
    { id: "cus_08", updated_at: T(4) },
  ];
  const { fetchApi, asked } = fakeMedusa(rows);
  const stream = createMedusaConnector(
    "shop",
    MedusaConfig.parse({ url: "http://x.test", secretKey: "sk_a" }),
    fetchApi,
  ).streams.customer;
  assert.ok(stream);
  const read = async (since: Cursor | null, pageSize: number) => {
    const pages: string[][] = [];
    for await (const page of stream.list({ since, signpost: T(9), pageSize }))
      pages.push(page.map((c) => stream.idOf(c)));
    return pages;
  };
  const pages = await read(null, 2);
  for (const p of pages) assert.ok(p.length <= 2, `a page of ${p.length}`);
  assert.deepEqual(
    pages.flat(),
    rows.map((r) => r.id),
  );
  // Sorted by updated_at only: the stream never asks Medusa for a second sort key.
  for (const u of asked) assert.equal(u.searchParams.get("order"), "updated_at");
  // Resuming inside the crowded millisecond reads exactly what follows the cursor.
  assert.deepEqual((await read({ updatedAt: T(2), id: "cus_03" }, 2)).flat(), [
    "cus_04",
    "cus_05",
    "cus_06",
    "cus_07",
    "cus_08",
  ]);
});

test("an order's lines come in the order they were added, whatever order Medusa answers its items in", async () => {
  const stream = createMedusaConnector(
    "shop",
    MedusaConfig.parse({ url: "http://x.test", secretKey: "sk_a" }),
  ).streams.order;
  assert.ok(stream);
  const item = (id: string, sku: string) => ({
    id,
    title: sku,
    variant_sku: sku,
    variant_id: `variant_${sku}`,
    quantity: 1,
    unit_price: 10,
    subtotal: 10,
    total: 10,
    tax_lines: [],
  });
  const native = MedusaOrder.parse({
    id: "order_01",
    display_id: 7,
    status: "pending",
    email: "a@example.com",
    currency_code: "eur",
    created_at: T(1),
    updated_at: T(2),
    total: 20,
    tax_total: 0,
    shipping_total: 0,
    discount_total: 0,
    items: [item("ordli_02", "B"), item("ordli_01", "A")],
  });
  const order = Order.parse(await stream.toCanonical(native));
  assert.deepEqual(
    order.lines.map((l) => l.sku),
    ["A", "B"],
  );
  assert.equal(order.key, "shop:7");
  assert.equal(order.total, "20.00");
});
