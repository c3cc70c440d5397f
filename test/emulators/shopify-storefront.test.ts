/**
 * The emulator's storefront over HTTP, as a user trying the orders flow by hand would use it: list what
 * can be ordered, place an order, get its name; the order is in the Admin API with the amounts the answer
 * gave, and raises the webhooks a real order raises, signed and naming the emulator's shop.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { z } from "zod";
import { PRODUCT_SET } from "../../src/connectors/shopify/operations.ts";
import { receiveShopifyWebhook, WEBHOOK_SUBSCRIPTION_CREATE } from "../../src/connectors/shopify/webhooks.ts";

let emu: ShopifyEmulator;
let origin = "";
const received: { headers: Record<string, string | undefined>; body: Buffer }[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
    );
    received.push({ headers, body: Buffer.concat(chunks) });
    res.end("ok");
  });
});

async function admin(query: string, variables: Record<string, unknown> = {}): Promise<unknown> {
  const res = await fetch(emu.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-access-token": emu.accessToken },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function order(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${origin}/emulator/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

before(async () => {
  emu = await startShopifyEmulator({ seed: 3, customers: 5 });
  origin = new URL(emu.url).origin;
  for (const [title, sku, price] of [
    ["Mug", "MUG-1", "9.50"],
    ["Plate", "PLATE-1", "14.00"],
  ] as const) {
    const answer = (await admin(PRODUCT_SET, {
      input: {
        title,
        productOptions: [{ name: "Title", values: [{ name: "Default Title" }] }],
        variants: [
          {
            optionValues: [{ optionName: "Title", name: "Default Title" }],
            price,
            inventoryItem: { sku, tracked: true },
          },
        ],
      },
    })) as { data: { productSet: { userErrors: unknown[] } } };
    assert.deepEqual(answer.data.productSet.userErrors, []);
  }
  // Stock as the stock flow would have set it (10 at the first location).
  for (const sku of ["MUG-1", "PLATE-1"]) {
    const v = emu.data.variantBySku(sku);
    const item = v ? emu.data.inventoryItems.get(v.inventoryItemId) : undefined;
    const first = [...emu.data.locations.keys()][0];
    assert.ok(item && first);
    item.levels.set(first, { available: 10, on_hand: 10, committed: 0 });
  }
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const addr = receiver.address();
  assert.ok(addr && typeof addr === "object");
  for (const topic of ["ORDERS_CREATE", "ORDERS_PAID"]) {
    await admin(WEBHOOK_SUBSCRIPTION_CREATE, {
      topic,
      webhookSubscription: { uri: `http://127.0.0.1:${addr.port}/hooks`, format: "JSON" },
    });
  }
});

after(async () => {
  await emu.close();
  receiver.close();
});

test("GET /emulator/variants lists the SKUs a shopper can order, with price and stock", async () => {
  const res = await fetch(`${origin}/emulator/variants`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), [
    { sku: "MUG-1", title: "Mug", price: "9.50", available: 10 },
    { sku: "PLATE-1", title: "Plate", price: "14.00", available: 10 },
  ]);
});

test("POST /emulator/orders places a paid order, answers its name, and raises the shop's order webhooks", async () => {
  const customer = [...emu.data.customers.values()][0];
  assert.ok(customer?.email);
  const res = await order({
    email: customer.email,
    lines: [
      { sku: "MUG-1", quantity: 2 },
      { sku: "PLATE-1", quantity: 1 },
    ],
    shipping: true,
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  // (2 × 9.50 + 14.00) × 1.2 VAT + 4.90 × 1.2 shipping = 39.60 + 5.88
  assert.deepEqual(res.json, {
    name: "#1001",
    id: res.json.id,
    email: customer.email,
    customer: customer.id,
    total: "45.48",
    currency: "EUR",
    lines: [
      { sku: "MUG-1", quantity: 2, unitPrice: "9.50" },
      { sku: "PLATE-1", quantity: 1, unitPrice: "14.00" },
    ],
  });

  // The Admin API, which the orders flow reads, has it with the same total.
  const read = z
    .object({
      data: z.object({
        order: z.object({
          name: z.string(),
          displayFinancialStatus: z.string(),
          totalPriceSet: z.object({ shopMoney: z.object({ amount: z.string() }) }),
          lineItems: z.object({ nodes: z.array(z.object({ sku: z.string(), quantity: z.number() })) }),
        }),
      }),
    })
    .parse(
      await admin(
        "query O($id: ID!) { order(id: $id) { name displayFinancialStatus totalPriceSet { shopMoney { amount } } lineItems(first: 10) { nodes { sku quantity } } } }",
        { id: res.json.id },
      ),
    );
  assert.deepEqual(read.data.order, {
    name: "#1001",
    displayFinancialStatus: "PAID",
    totalPriceSet: { shopMoney: { amount: "45.48" } },
    lineItems: {
      nodes: [
        { sku: "MUG-1", quantity: 2 },
        { sku: "PLATE-1", quantity: 1 },
      ],
    },
  });

  await emu.webhooks.settle();
  assert.deepEqual(received.map((r) => r.headers["x-shopify-topic"]).sort(), [
    "orders/create",
    "orders/paid",
  ]);
  for (const r of received) {
    assert.equal(r.headers["x-shopify-shop-domain"], emu.shop);
    // What `passerelle run` would do with it for a connection to this shop: verified and accepted.
    const outcome = receiveShopifyWebhook(
      { rawBody: r.body, headers: r.headers, query: {} },
      emu.webhooks.secret,
      emu.shop,
    );
    assert.ok(outcome.kind === "events", JSON.stringify(outcome));
    assert.equal(outcome.events[0]?.recordId, res.json.id);
  }
});

test("bad orders are refused naming the field and the value; nothing is placed", async () => {
  const orders = emu.data.orders.size;
  const deliveries = emu.webhooks.log.length;
  const ok = { email: "shopper@example.com", lines: [{ sku: "MUG-1", quantity: 1 }] };
  const cases: [string, unknown, number, string][] = [
    [
      "an unknown SKU",
      {
        ...ok,
        lines: [
          { sku: "MUG-1", quantity: 1 },
          { sku: "NOPE-9", quantity: 1 },
        ],
      },
      422,
      'lines[1].sku "NOPE-9": no variant of the shop has this SKU; in stock, e.g. MUG-1, PLATE-1 (GET /emulator/variants lists them)',
    ],
    [
      "a quantity of 0",
      { ...ok, lines: [{ sku: "MUG-1", quantity: 0 }] },
      400,
      "lines[0].quantity: Too small: expected number to be >=1, got 0",
    ],
    ["a bad e-mail", { ...ok, email: "shopper" }, 400, 'email: Invalid email address, got "shopper"'],
    ["no lines", { ...ok, lines: [] }, 400, "lines: Too small: expected array to have >=1 items, got []"],
    ["a misspelt field", { ...ok, shiping: true }, 400, 'body: Unrecognized key: "shiping"'],
    ["a body that is not JSON", "{email:", 400, "body is not valid JSON"],
    [
      "a discount above the subtotal",
      { ...ok, discountCode: "BIG", discountAmount: "50.00" },
      422,
      "discountAmount 50 exceeds the subtotal 9.5",
    ],
  ];
  for (const [name, body, status, error] of cases) {
    const res = await order(body);
    assert.deepEqual([res.status, res.json], [status, { error }], name);
  }
  const get = await fetch(`${origin}/emulator/orders`);
  assert.equal(get.status, 405);
  assert.equal(emu.data.orders.size, orders, "no order placed");
  await emu.webhooks.settle();
  assert.equal(emu.webhooks.log.length, deliveries, "no webhook sent");
});
