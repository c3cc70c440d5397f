import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { NoDeprecatedCustomRule, parse, validate } from "graphql";
import { compareCursors } from "../../../core/cursor.ts";
import { SyncError } from "../../../core/errors.ts";
import { type Order, Refund } from "../../../core/model.ts";
import { refundTotalCheck } from "../../../core/refund.ts";
import type { Connector, Cursor, Stream } from "../../../ports/connector.ts";
import { ShopifyConfig } from "../config.ts";
import { requestedQueryCost, SINGLE_QUERY_MAX_COST } from "../cost.ts";
import { createShopifyConnector } from "../index.ts";
import { shopifySchema, validateOperation } from "../schema.ts";
import { REFUND_OPERATIONS, REFUND_ORDERS, REFUND_ORDERS_PER_PAGE, type RefundNative } from "./refund.ts";

const FAR = "2999-01-01T00:00:00Z";

test("every refund document validates against the official 2026-10 Admin schema, none deprecated", () => {
  const failures: string[] = [];
  for (const [name, source] of Object.entries(REFUND_OPERATIONS)) {
    for (const e of validateOperation(source)) failures.push(`${name}: ${e.message}`);
    for (const e of validate(shopifySchema(), parse(source), [NoDeprecatedCustomRule])) {
      failures.push(`${name}: ${e.message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test("a page of refund orders stays under the single-query cost cap", () => {
  const cost = requestedQueryCost(shopifySchema(), parse(REFUND_ORDERS), {
    first: REFUND_ORDERS_PER_PAGE,
    after: "x",
    query: "",
  });
  assert.ok(cost <= SINGLE_QUERY_MAX_COST, `requested cost ${cost}`);
  // One more order per page would not fit: the constant is the largest page, not a guess.
  const more = requestedQueryCost(shopifySchema(), parse(REFUND_ORDERS), {
    first: REFUND_ORDERS_PER_PAGE + 1,
  });
  assert.ok(more > SINGLE_QUERY_MAX_COST * 0.9, `a page of ${REFUND_ORDERS_PER_PAGE + 1} costs only ${more}`);
});

async function admin(
  emu: ShopifyEmulator,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ data?: Record<string, unknown>; errors?: { message: string }[] }> {
  const res = await fetch(emu.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-access-token": emu.accessToken },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
}

const REFUND_CREATE = `mutation R($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { shopMoney { amount } } }
    order { id displayFinancialStatus }
    userErrors { field message }
  }
}`;

async function readAll<N>(stream: Stream<never, N> | Stream, since: Cursor | null = null, pageSize = 100) {
  const pages: N[][] = [];
  for await (const p of stream.list({ since, signpost: FAR, pageSize })) pages.push(p as N[]);
  return pages;
}

describe("shopify refund stream against the emulator", () => {
  let emu: ShopifyEmulator;
  let shop: Connector;
  let stream: Stream<"refund", RefundNative>;
  let clock = Date.parse("2026-06-01T10:00:00Z");
  const tick = (s = 1) => {
    clock += s * 1000;
  };
  const skus = Array.from({ length: 12 }, (_, i) => `RF-${i + 1}`);
  const email = () => [...emu.data.customers.values()][0]?.email ?? "";
  const laterThan = (records: RefundNative[], cursor: Cursor) =>
    records.filter(
      (r) =>
        compareCursors({ updatedAt: stream.updatedAtOf(r as never), id: stream.idOf(r as never) }, cursor) >
        0,
    );
  const canonical = async (n: unknown) => Refund.parse(await stream.toCanonical(n as RefundNative));

  before(async () => {
    emu = await startShopifyEmulator({
      seed: 5,
      customers: 3,
      rateLimit: { enabled: false },
      clock: () => clock,
    });
    const config = ShopifyConfig.parse({ shop: emu.shop, accessToken: emu.accessToken, endpoint: emu.url });
    shop = createShopifyConnector("shopify", config);
    stream = shop.streams.refund as Stream<"refund", RefundNative>;
    const [r] = await shop.writers.product!.upsert(
      [
        {
          key: "RF",
          targetId: null,
          externalRef: "RF",
          record: {
            source: "erp",
            sourceId: "RF",
            updatedAt: "2026-06-01T00:00:00Z",
            key: "RF",
            title: "Refund test",
            status: "active",
            currency: "EUR",
            categoryPath: [],
            attributes: {},
            images: [],
            components: [],
            variants: skus.map((sku, i) => ({ sku, price: "19.90", options: { Size: String(i + 1) } })),
          },
        },
      ],
      { resolve: async () => null },
    );
    assert.ok(r?.ok, JSON.stringify(r));
  });
  after(() => emu.close());

  test("a partial refund, then a full one: amounts taxes included, lines by SKU, breakdown, order status", async () => {
    tick();
    const order = emu.placeOrder({
      email: email(),
      lines: [
        { sku: "RF-1", quantity: 2 },
        { sku: "RF-2", quantity: 1 },
      ],
      shipping: true,
    });
    // 39.80 + 19.90 + 4.90 shipping, VAT 20 % on each: 7.96 + 3.98 + 0.98.
    tick();
    const partial = emu.refundOrder(order.name, { lines: [{ sku: "RF-1", quantity: 1 }], note: "scratched" });
    const [first] = (await readAll<RefundNative>(stream))
      .flat()
      .filter((n) => (n as RefundNative).order.id === order.id);
    assert.ok(first);
    const r1 = await canonical(first);
    assert.equal(r1.key, `shopify:refund:${partial.id.split("/").pop()}`);
    assert.equal(r1.orderKey, `shopify:${order.name}`);
    assert.equal(r1.orderNumber, order.name);
    assert.equal(r1.amount, "23.88");
    assert.equal(r1.currency, "EUR");
    assert.deepEqual(r1.breakdown, { items: "23.88", shipping: "0", adjustment: "0" });
    assert.deepEqual(r1.lines, [{ sku: "RF-1", quantity: 1 }]);
    assert.equal(r1.reason, "scratched");
    assert.match(r1.transactionId ?? "", /^gid:\/\/shopify\/OrderTransaction\/\d+$/);
    assert.equal(r1.createdAt, new Date(clock).toISOString());
    assert.deepEqual(refundTotalCheck(r1), { ok: true });
    const orders = (await readAll<unknown>(shop.streams.order!)).flat();
    const o1 = (await shop.streams.order!.toCanonical(
      orders.find((o) => shop.streams.order!.idOf(o) === order.id) as never,
    )) as Order;
    assert.equal(o1.financialStatus, "partially_refunded");

    tick();
    emu.refundOrder(order.name, {
      lines: [
        { sku: "RF-1", quantity: 1 },
        { sku: "RF-2", quantity: 1 },
      ],
      shipping: true,
    });
    const mine = (await readAll<RefundNative>(stream))
      .flat()
      .filter((n) => (n as RefundNative).order.id === order.id);
    assert.equal(mine.length, 2);
    const r2 = await canonical(mine[1]);
    // The rest: 19.90 + 3.98, 19.90 + 3.98, shipping 4.90 + 0.98; with the first, the order's 77.52.
    assert.equal(r2.amount, "53.64");
    assert.deepEqual(r2.breakdown, { items: "47.76", shipping: "5.88", adjustment: "0" });
    assert.deepEqual(r2.lines, [
      { sku: "RF-1", quantity: 1 },
      { sku: "RF-2", quantity: 1 },
    ]);
    assert.equal(r2.reason, undefined);
    const o2 = (await shop.streams.order!.toCanonical(
      (await shop.streams.order!.get(order.id)) as never,
    )) as Order;
    assert.equal(o2.financialStatus, "refunded");
    assert.equal(o2.total, "77.52");
  });

  test("a refund above what is left of the payment is refused, and nothing is recorded", async () => {
    tick();
    const order = emu.placeOrder({ email: email(), lines: [{ sku: "RF-3", quantity: 1 }] });
    // 19.90 + 3.98 = 23.88 paid.
    tick();
    emu.refundOrder(order.name, { amount: "20.00", note: "goodwill" });
    tick();
    const before = structuredClone(emu.data.orders.get(order.id));
    const answer = await admin(emu, REFUND_CREATE, {
      key: "over-1",
      input: {
        orderId: order.id,
        transactions: [{ orderId: order.id, amount: "3.89", gateway: order.gateway, kind: "REFUND" }],
      },
    });
    const out = answer.data?.refundCreate as {
      refund: unknown;
      userErrors: { field: string[]; message: string }[];
    };
    assert.equal(out.refund, null);
    assert.deepEqual(
      out.userErrors.map((e) => e.field),
      [["transactions"]],
    );
    assert.match(out.userErrors[0]?.message ?? "", /3\.89 exceeds the refundable amount 3\.88/);
    assert.deepEqual(emu.data.orders.get(order.id), before);
    assert.throws(
      () => emu.refundOrder(order.name, { lines: [{ sku: "RF-3", quantity: 2 }] }),
      /more items than were purchased/,
    );
    // Exactly what is left is accepted: the order is then refunded.
    const ok = await admin(emu, REFUND_CREATE, {
      key: "over-2",
      input: {
        orderId: order.id,
        transactions: [{ orderId: order.id, amount: "3.88", gateway: order.gateway, kind: "REFUND" }],
      },
    });
    const done = ok.data?.refundCreate as {
      order: { displayFinancialStatus: string };
      userErrors: unknown[];
    };
    assert.deepEqual(done.userErrors, []);
    assert.equal(done.order.displayFinancialStatus, "REFUNDED");
    const mine = (await readAll<RefundNative>(stream))
      .flat()
      .filter((n) => (n as RefundNative).order.id === order.id);
    const records = await Promise.all(mine.map(canonical));
    assert.deepEqual(
      records.map((r) => [r.amount, r.breakdown, r.lines, r.reason]),
      [
        ["20", undefined, [], "goodwill"],
        ["3.88", undefined, [], undefined],
      ],
    );
  });

  test("refundCreate needs @idempotent, and a key sent again gives the same refund once", async () => {
    tick();
    const order = emu.placeOrder({ email: email(), lines: [{ sku: "RF-4", quantity: 1 }] });
    const input = {
      orderId: order.id,
      transactions: [{ orderId: order.id, amount: "1.00", gateway: order.gateway, kind: "REFUND" }],
    };
    const bare = await admin(
      emu,
      `mutation R($input: RefundInput!) { refundCreate(input: $input) { refund { id } userErrors { message } } }`,
      { input },
    );
    assert.match(bare.errors?.[0]?.message ?? "", /@idempotent/);
    const a = await admin(emu, REFUND_CREATE, { key: "same", input });
    const b = await admin(emu, REFUND_CREATE, { key: "same", input });
    const id = (x: typeof a) => (x.data?.refundCreate as { refund?: { id: string } } | undefined)?.refund?.id;
    assert.ok(id(a));
    assert.equal(id(a), id(b));
    assert.equal(emu.data.orders.get(order.id)?.refunds.length, 1);
    const other = await admin(emu, REFUND_CREATE, {
      key: "same",
      input: { ...input, note: "changed" },
    });
    assert.match(
      JSON.stringify(other.data?.refundCreate),
      /idempotency key was used with different parameters/,
    );
  });

  test("a refund without a successful REFUND transaction is not read, nor found by get", async () => {
    tick();
    const order = emu.placeOrder({ email: email(), lines: [{ sku: "RF-5", quantity: 2 }] });
    tick();
    // Restock only: the lines go back, no money does.
    const restock = emu.refundOrder(order.name, { lines: [{ sku: "RF-5", quantity: 1 }], amount: "0" });
    assert.deepEqual(restock.transactionIds, []);
    tick();
    const pending = emu.refundOrder(order.name, { amount: "5.00" });
    const rec = emu.data.orders.get(order.id)?.transactions.find((t) => t.id === pending.transactionIds[0]);
    assert.ok(rec);
    rec.status = "PENDING";
    const mine = (await readAll<RefundNative>(stream))
      .flat()
      .filter((n) => (n as RefundNative).order.id === order.id);
    assert.deepEqual(mine, []);
    assert.equal(await stream.get(restock.id), null);
    assert.equal(await stream.get(pending.id), null);
    // Settled later: read then (Shopify moves the order when a transaction changes).
    rec.status = "SUCCESS";
    tick();
    const o = emu.data.orders.get(order.id);
    assert.ok(o);
    o.updatedAt = new Date(clock).toISOString();
    const got = await stream.get(pending.id);
    assert.ok(got);
    assert.equal((await canonical(got)).amount, "5");
    assert.equal(stream.idOf(got), pending.id);
  });

  test("a refund of more line items than one answer carries is completed", async () => {
    tick();
    const order = emu.placeOrder({ email: email(), lines: skus.map((sku) => ({ sku, quantity: 1 })) });
    tick();
    emu.refundOrder(order.name, { lines: skus.map((sku) => ({ sku, quantity: 1 })) });
    const [n] = (await readAll<RefundNative>(stream))
      .flat()
      .filter((x) => (x as RefundNative).order.id === order.id);
    const r = await canonical(n);
    assert.deepEqual(
      r.lines.map((l) => l.sku),
      skus,
    );
    // 12 × (19.90 + 3.98)
    assert.equal(r.amount, "286.56");
    assert.deepEqual(r.breakdown, { items: "286.56", shipping: "0", adjustment: "0" });
  });

  test("a note ending with a refund mark keeps the key it names; a line without SKU is a failed record", async () => {
    tick();
    const order = emu.placeOrder({ email: email(), lines: [{ sku: "RF-6", quantity: 1 }] });
    tick();
    emu.refundOrder(order.name, { amount: "2.00", note: "from the ERP [tryton:refund:CN-7]" });
    let [n] = (await readAll<RefundNative>(stream))
      .flat()
      .filter((x) => (x as RefundNative).order.id === order.id);
    const r = await canonical(n);
    assert.equal(r.key, "tryton:refund:CN-7");
    assert.equal(r.reason, "from the ERP");
    tick();
    // Less than the line came to (23.88): Shopify keeps the difference as an order adjustment.
    emu.refundOrder(order.name, { lines: [{ sku: "RF-6", quantity: 1 }], amount: "1.00" });
    const [, partly] = (await readAll<RefundNative>(stream)).flat().filter((x) => x.order.id === order.id);
    assert.deepEqual((await canonical(partly)).breakdown, {
      items: "23.88",
      shipping: "0",
      adjustment: "-22.88",
    });
    const line = emu.data.orders.get(order.id)?.lines[0];
    assert.ok(line);
    line.sku = null;
    const mine = (await readAll<RefundNative>(stream))
      .flat()
      .filter((x) => (x as RefundNative).order.id === order.id);
    n = mine[1];
    await assert.rejects(
      async () => stream.toCanonical(n as RefundNative),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "data" &&
        e.details.field === "refundLineItems[0].lineItem.sku" &&
        /refundLineItems\[0\]\.lineItem\.sku is null/.test(e.message),
    );
  });

  test("pages hold back an instant shared by several orders, and a cursor resumes after the last refund", async () => {
    // Five orders refunded at the same instant (one each), read one order per call.
    tick(10);
    const placed = [1, 2, 3, 4, 5].map(() =>
      emu.placeOrder({ email: email(), lines: [{ sku: "RF-7", quantity: 1 }] }),
    );
    tick();
    for (const o of [...placed].reverse()) emu.refundOrder(o.name, { amount: "1.00" });
    const big = (await readAll<RefundNative>(stream)).flat();
    const small = await readAll<RefundNative>(stream, null, 1);
    for (const p of small) assert.ok(p.length <= 1);
    assert.deepEqual(small.flat().map(stream.idOf), big.map(stream.idOf));
    const all = small.flat();
    for (let i = 1; i < all.length; i++) {
      const c = (n: unknown) => ({ updatedAt: stream.updatedAtOf(n as never), id: stream.idOf(n as never) });
      assert.ok(compareCursors(c(all[i - 1]), c(all[i])) < 0, `${stream.idOf(all[i] as never)} out of order`);
    }
    // Resume from a cursor in the middle of the shared instant: the rest, nothing twice.
    const cut = all.length - 3;
    const cursor = {
      updatedAt: stream.updatedAtOf(all[cut - 1] as never),
      id: stream.idOf(all[cut - 1] as never),
    };
    const rest = laterThan((await readAll<RefundNative>(stream, cursor, 2)).flat(), cursor);
    assert.deepEqual(rest.map(stream.idOf), all.slice(cut).map(stream.idOf));
    // A refund made later is what a read from the last cursor finds.
    const last = all[all.length - 1];
    const end = { updatedAt: stream.updatedAtOf(last as never), id: stream.idOf(last as never) };
    tick();
    const fresh = emu.refundOrder(placed[0]?.name ?? "", { amount: "1.00" });
    const next = laterThan((await readAll<RefundNative>(stream, end)).flat(), end);
    // The order's other refund comes again with it (its order moved); the engine's hash skips it.
    assert.deepEqual(
      next.map(stream.idOf).sort(),
      [
        fresh.id,
        ...all.filter((n) => (n as RefundNative).order.id === placed[0]?.id).map(stream.idOf),
      ].sort(),
    );
  });
});
