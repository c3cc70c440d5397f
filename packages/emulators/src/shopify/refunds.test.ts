/**
 * refundCreate's rules in the emulator, the demo's merchant refunding over the Admin API (refundOrderIn),
 * and the REFUNDS_CREATE webhook a refund raises.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { refundOrderIn } from "../demo/systems.ts";
import { type ShopifyEmulator, startShopifyEmulator } from "./server.ts";

let emu: ShopifyEmulator;
const deliveries: { topic: string | undefined; body: Record<string, unknown> }[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const topic = req.headers["x-shopify-topic"];
    deliveries.push({
      topic: Array.isArray(topic) ? topic[0] : topic,
      body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
    });
    res.end("ok");
  });
});

async function admin(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(emu.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-access-token": emu.accessToken },
    body: JSON.stringify({ query, variables }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field and compared whole
  return (await res.json()) as { data?: Record<string, any>; errors?: { message: string }[] };
}

const PRODUCT_SET = `mutation P($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) { product { id } userErrors { message } }
}`;

const REFUND_CREATE = `mutation R($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { shopMoney { amount } } refundShippingLines(first: 5) { nodes { subtotalAmountSet { shopMoney { amount } } taxAmountSet { shopMoney { amount } } } } }
    userErrors { field message }
  }
}`;

let key = 0;
const refund = (input: Record<string, unknown>) => admin(REFUND_CREATE, { input, key: `k-${++key}` });

before(async () => {
  emu = await startShopifyEmulator({ seed: 2, customers: 3, rateLimit: { enabled: false } });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const addr = receiver.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const sub = await admin(
    `mutation S($topic: WebhookSubscriptionTopic!, $uri: String!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri }) { userErrors { message } }
    }`,
    { topic: "REFUNDS_CREATE", uri: `http://127.0.0.1:${port}/hooks` },
  );
  assert.deepEqual(sub.data?.webhookSubscriptionCreate.userErrors, []);
  const p = await admin(PRODUCT_SET, {
    input: {
      title: "Bowl",
      productOptions: [{ name: "Title", values: [{ name: "Default Title" }] }],
      variants: [
        { optionValues: [{ optionName: "Title", name: "Default Title" }], sku: "BOWL-1", price: "10.00" },
      ],
    },
  });
  assert.deepEqual(p.data?.productSet.userErrors, []);
});

after(async () => {
  await emu.close();
  receiver.close();
});

const email = () => [...emu.data.customers.values()][0]?.email ?? "";

test("the demo's merchant refunds over the Admin API; the order's refunds, status and webhook follow", async () => {
  const o = emu.placeOrder({ email: email(), lines: [{ sku: "BOWL-1", quantity: 3 }], shipping: true });
  // 30.00 + 4.90 shipping, 20 % VAT: 6.00 + 0.98 → 41.88.
  const first = await refundOrderIn(emu, o.name, {
    lines: [{ sku: "BOWL-1", quantity: 1 }],
    note: "chipped",
  });
  assert.equal(first.amount, "12");
  const read = await admin(
    `query O($id: ID!) { order(id: $id) {
    displayFinancialStatus totalRefundedSet { shopMoney { amount } } totalReceivedSet { shopMoney { amount } }
    refunds { id note refundLineItems(first: 5) { nodes { quantity lineItem { sku } } } transactions(first: 5) { nodes { kind status gateway amountSet { shopMoney { amount } } parentTransaction { kind } } } }
  } }`,
    { id: o.id },
  );
  const order = read.data?.order;
  assert.equal(order.displayFinancialStatus, "PARTIALLY_REFUNDED");
  assert.equal(order.totalRefundedSet.shopMoney.amount, "12");
  assert.equal(order.totalReceivedSet.shopMoney.amount, "41.88");
  assert.deepEqual(order.refunds, [
    {
      id: first.id,
      note: "chipped",
      refundLineItems: { nodes: [{ quantity: 1, lineItem: { sku: "BOWL-1" } }] },
      transactions: {
        nodes: [
          {
            kind: "REFUND",
            status: "SUCCESS",
            gateway: "shopify_payments",
            amountSet: { shopMoney: { amount: "12" } },
            parentTransaction: { kind: "SALE" },
          },
        ],
      },
    },
  ]);
  await refundOrderIn(emu, o.name, { lines: [{ sku: "BOWL-1", quantity: 2 }], shipping: true });
  assert.equal(emu.data.orders.get(o.id)?.financialStatus, "REFUNDED");
  await emu.webhooks.settle();
  const hooks = deliveries.filter((d) => d.topic === "refunds/create");
  assert.deepEqual(
    hooks.map((d) => [d.body.admin_graphql_api_id, d.body.order_id]),
    emu.data.orders.get(o.id)?.refunds.map((r) => [r.id, Number(o.id.split("/").pop())]),
  );
  await assert.rejects(refundOrderIn(emu, o.name, { amount: "0.01" }), /exceeds the refundable amount 0\.00/);
});

test("refundCreate refuses what Shopify refuses, field by field", async () => {
  const o = emu.placeOrder({ email: email(), lines: [{ sku: "BOWL-1", quantity: 1 }], shipping: true });
  const line = o.lines[0]?.id ?? "";
  const sale = o.transactions[0];
  assert.ok(sale);
  const tx = (extra: Record<string, unknown>) => ({
    orderId: o.id,
    amount: "1.00",
    gateway: sale.gateway,
    kind: "REFUND",
    ...extra,
  });
  const cases: [Record<string, unknown>, string[] | null, RegExp][] = [
    [{ orderId: "gid://shopify/Order/999999" }, ["orderId"], /Order does not exist/],
    [
      { refundLineItems: [{ lineItemId: line, quantity: 2 }] },
      ["refundLineItems", "0", "quantity"],
      /more items than were purchased/,
    ],
    [
      { refundLineItems: [{ lineItemId: "gid://shopify/LineItem/999999", quantity: 1 }] },
      ["refundLineItems", "0", "lineItemId"],
      /does not exist/,
    ],
    [{ shipping: { amount: "5.00" } }, ["shipping", "amount"], /exceeds the refundable shipping 4\.90/],
    [{ transactions: [tx({ kind: "SALE" })] }, ["transactions", "0", "kind"], /not a refund/],
    [
      { transactions: [tx({ gateway: "manual" })] },
      ["transactions", "0", "gateway"],
      /not the gateway of the payment/,
    ],
    [
      { transactions: [tx({ parentId: "gid://shopify/OrderTransaction/999999" })] },
      ["transactions", "0", "parentId"],
      /not a successful sale/,
    ],
    [{ transactions: [tx({ amount: "0" })] }, ["transactions", "0", "amount"], /greater than 0/],
    [
      { transactions: [tx({ amount: "15.00" }), tx({ amount: "3.00" })] },
      ["transactions"],
      /18\.00 exceeds the refundable amount 17\.88/,
    ],
    [{ currency: "USD" }, ["currency"], /does not match/],
    [{}, null, /needs line items, shipping or a transaction/],
  ];
  for (const [input, field, message] of cases) {
    const answer = await refund({ orderId: o.id, ...input });
    const out = answer.data?.refundCreate;
    assert.ok(out, JSON.stringify(answer));
    assert.equal(out.refund, null, JSON.stringify(input));
    assert.deepEqual(out.userErrors[0]?.field, field, JSON.stringify(input));
    assert.match(out.userErrors[0]?.message, message);
  }
  assert.deepEqual(emu.data.orders.get(o.id)?.refunds, []);
  assert.equal(emu.data.orders.get(o.id)?.financialStatus, "PAID");
  // Over-refunding is allowed when asked for.
  const over = (
    await refund({ orderId: o.id, allowOverRefunding: true, transactions: [tx({ amount: "20.00" })] })
  ).data?.refundCreate;
  assert.deepEqual(over.userErrors, []);
  assert.equal(emu.data.orders.get(o.id)?.financialStatus, "REFUNDED");
});

test("shipping is refunded by amount before tax, its tax in proportion, and the last part takes the rest", async () => {
  const o = emu.placeOrder({ email: email(), lines: [{ sku: "BOWL-1", quantity: 1 }], shipping: true });
  const part = (
    await refund({
      orderId: o.id,
      shipping: { amount: "2.45" },
    })
  ).data?.refundCreate;
  assert.deepEqual(part.userErrors, []);
  assert.deepEqual(part.refund.refundShippingLines.nodes, [
    { subtotalAmountSet: { shopMoney: { amount: "2.45" } }, taxAmountSet: { shopMoney: { amount: "0.49" } } },
  ]);
  const rest = (await refund({ orderId: o.id, shipping: { fullRefund: true } })).data?.refundCreate;
  assert.deepEqual(rest.refund.refundShippingLines.nodes, [
    { subtotalAmountSet: { shopMoney: { amount: "2.45" } }, taxAmountSet: { shopMoney: { amount: "0.49" } } },
  ]);
  // Nothing moved money: the status stays, the refunds have no transaction.
  assert.equal(emu.data.orders.get(o.id)?.financialStatus, "PAID");
  assert.equal(rest.refund.totalRefundedSet.shopMoney.amount, "0");
});
