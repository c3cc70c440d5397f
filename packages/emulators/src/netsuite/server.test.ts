/** The NetSuite emulator refuses what the documented shapes do not allow, and governs concurrency. */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import { type NetSuiteEmulator, netsuiteShapes, parseSuiteQL, startNetSuiteEmulator } from "./server.ts";

let emu: NetSuiteEmulator;
before(async () => {
  emu = await startNetSuiteEmulator({ items: 3, customers: 2, maxConcurrent: 1, delayMs: 50 });
});
after(() => emu.close());

const enc = (v: string) =>
  encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A TBA header written out by hand here (independent of the connector's signing). */
function sign(method: string, url: string): string {
  const u = new URL(url);
  const p: Record<string, string> = {
    oauth_consumer_key: emu.consumerKey,
    oauth_token: emu.tokenId,
    oauth_signature_method: "HMAC-SHA256",
    oauth_timestamp: "1700000000",
    oauth_nonce: Math.random().toString(36).slice(2),
    oauth_version: "1.0",
  };
  const pairs = [...u.searchParams, ...Object.entries(p)].map(([k, v]) => `${enc(k)}=${enc(v)}`).sort();
  const base = `${method}&${enc(`${u.protocol}//${u.host}${u.pathname}`)}&${enc(pairs.join("&"))}`;
  const sig = createHmac("sha256", `${enc(emu.consumerSecret)}&${enc(emu.tokenSecret)}`)
    .update(base)
    .digest("base64");
  return `OAuth realm="${emu.accountId}", ${Object.entries({ ...p, oauth_signature: sig })
    .map(([k, v]) => `${k}="${enc(v)}"`)
    .join(", ")}`;
}

const call = (
  method: string,
  path: string,
  body?: unknown,
  signed = true,
  extra: Record<string, string> = {},
) => {
  const url = `${emu.url}${path}`;
  return fetch(url, {
    method,
    headers: {
      "content-type": "application/json",
      ...(signed ? { authorization: sign(method, url) } : {}),
      ...extra,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
};

test("no signature, or a wrong one: 401", async () => {
  assert.equal((await call("GET", "/services/rest/record/v1/customer/100", undefined, false)).status, 401);
  const res = await fetch(`${emu.url}/services/rest/record/v1/customer/100`, {
    headers: { authorization: sign("GET", `${emu.url}/services/rest/record/v1/customer/999`) },
  });
  assert.equal(res.status, 401);
});

test("unknown record type, unknown body field, SuiteQL without Prefer: transient: 400 and a violation each", async () => {
  const before = emu.violations.length;
  assert.equal((await call("GET", "/services/rest/record/v1/widget/1")).status, 400);
  assert.equal(
    (await call("POST", "/services/rest/record/v1/customer", { email: "a@b.c", nickname: "x" })).status,
    400,
  );
  assert.equal(
    (await call("POST", "/services/rest/query/v1/suiteql?limit=10&offset=0", { q: "SELECT id FROM item" }))
      .status,
    400,
  );
  const body = (await (
    await call("POST", "/services/rest/record/v1/salesOrder", { bogus: 1 })
  ).json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ["o:errorDetails", "status", "title", "type"]);
  assert.equal(emu.violations.length, before + 4);
  emu.violations.length = 0;
});

test("SuiteQL pages by limit/offset with hasMore and links; columns are checked", async () => {
  const res = await call(
    "POST",
    "/services/rest/query/v1/suiteql?limit=2&offset=0",
    { q: "SELECT id, itemid FROM item ORDER BY id" },
    true,
    {
      prefer: "transient",
    },
  );
  const page = (await res.json()) as {
    hasMore: boolean;
    items: unknown[];
    links: { rel: string }[];
    totalResults: number;
  };
  assert.equal(page.hasMore, true);
  assert.equal(page.items.length, 2);
  assert.equal(page.totalResults, 3);
  assert.ok(page.links.some((l) => l.rel === "next"));
  assert.throws(
    () => parseSuiteQL("SELECT secret FROM item", { item: ["id"] }),
    /unknown column item.secret/,
  );
});

test("beyond maxConcurrent requests in flight: 429 CONCURRENCY_LIMIT_EXCEEDED", async () => {
  const answers = await Promise.all(
    [1, 2, 3].map(() => call("GET", "/services/rest/record/v1/customer/103")),
  );
  const statuses = answers.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 429, 429]);
  const refused = answers.find((r) => r.status === 429);
  const body = (await refused?.json()) as { "o:errorDetails": { "o:errorCode": string }[] };
  assert.equal(body["o:errorDetails"][0]?.["o:errorCode"], "CONCURRENCY_LIMIT_EXCEEDED");
});

const suiteql = async (q: string) => {
  const res = await call("POST", "/services/rest/query/v1/suiteql?limit=100&offset=0", { q }, true, {
    prefer: "transient",
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { items: Record<string, unknown>[] }).items.map(
    ({ links: _l, ...row }) => row,
  );
};

test("IN lists, numbers and IS [NOT] NULL are understood; anything else in a condition is refused", () => {
  const tables = { transaction: ["id", "type", "otherrefnum"] };
  const q = parseSuiteQL(
    "SELECT id FROM transaction WHERE type = 'ItemShip' AND id IN (1, '2', 3) AND otherrefnum IS NOT NULL",
    tables,
  );
  assert.deepEqual(q.where, [
    { col: "type", op: "=", values: ["ItemShip"] },
    { col: "id", op: "in", values: ["1", "2", "3"] },
    { col: "otherrefnum", op: "notnull", values: [] },
  ]);
  assert.deepEqual(parseSuiteQL("SELECT id FROM transaction WHERE id = 7", tables).where, [
    { col: "id", op: "=", values: ["7"] },
  ]);
  assert.throws(() => parseSuiteQL("SELECT id FROM transaction WHERE id IN (SELECT 1)", tables), /IN list/);
  assert.throws(
    () => parseSuiteQL("SELECT id FROM transaction WHERE id LIKE '1%'", tables),
    /not understood/,
  );
});

test("a fulfilment and an invoice made from a sales order are transaction rows; tracking sits in its own tables", async () => {
  const customer = [...(emu.records.get("customer")?.keys() ?? [])][0] as string;
  const item = [...(emu.records.get("inventoryItem")?.keys() ?? [])][0] as string;
  const created = await call("POST", "/services/rest/record/v1/salesOrder", {
    entity: { id: customer },
    otherRefNum: "shop:E-1",
    item: { items: [{ item: { id: item }, quantity: 3, rate: 10 }] },
  });
  assert.equal(created.status, 204);
  const so = String(created.headers.get("location")?.split("/").pop());
  const f = emu.fulfil(so, { tracking: ["1Z999"] });
  emu.track(String(f.id), "1Z998");
  const inv = emu.invoice(so);
  const rows = await suiteql(
    `SELECT id, type, otherrefnum, currency, foreigntotal FROM transaction WHERE id IN (${so}, ${f.id}, ${inv.id}) ORDER BY id`,
  );
  assert.deepEqual(
    rows.map((r) => [r.type, r.otherrefnum, r.foreigntotal]),
    [
      ["SalesOrd", "shop:E-1", 36],
      ["ItemShip", null, null],
      ["CustInvc", null, 36],
    ],
  );
  const lines = await suiteql(
    `SELECT transaction, mainline, taxline, createdfrom, item, quantity, foreignamount FROM transactionline WHERE transaction IN (${f.id}, ${inv.id}) ORDER BY transaction, id`,
  );
  assert.deepEqual(
    lines.map((l) => [l.mainline, l.taxline, l.createdfrom, l.quantity, l.foreignamount]),
    [
      ["T", "F", so, null, null],
      ["F", "F", so, -3, null],
      ["T", "F", so, null, null],
      ["F", "F", so, -3, -30],
      ["F", "T", so, null, -6],
    ],
  );
  const map = await suiteql(
    `SELECT transaction, trackingnumber FROM trackingnumbermap WHERE transaction = ${f.id}`,
  );
  const numbers = await suiteql(
    `SELECT id, trackingnumber FROM trackingnumber WHERE id IN (${map.map((m) => m.trackingnumber).join(", ")})`,
  );
  assert.deepEqual(numbers.map((n) => n.trackingnumber).sort(), ["1Z998", "1Z999"]);
  assert.deepEqual(await suiteql(`SELECT symbol FROM currency WHERE id = ${rows[2]?.currency}`), [
    { symbol: "EUR" },
  ]);
  // A fulfilment is transformed from a sales order, never posted.
  assert.equal(
    (await call("POST", "/services/rest/record/v1/itemFulfillment", { entity: { id: customer } })).status,
    400,
  );
  emu.violations.length = 0;
});

test("stock per location: inventoryitemlocations with quantityavailable = on hand − committed", async () => {
  const item = [...(emu.records.get("inventoryItem")?.keys() ?? [])][1] as string;
  emu.setStock(item, "2", 9, 4);
  assert.deepEqual(
    await suiteql(
      `SELECT item, location, quantityonhand, quantitycommitted, quantityavailable FROM inventoryitemlocations WHERE item = ${item} AND location = 2`,
    ),
    [{ item, location: "2", quantityonhand: 9, quantitycommitted: 4, quantityavailable: 5 }],
  );
  assert.deepEqual(await suiteql("SELECT id, name FROM location WHERE id = '2'"), [
    { id: "2", name: "Paris Store" },
  ]);
  assert.throws(() => emu.setStock(item, "99", 1), /no location 99/);
});

test("prices: pricing rows per item, price level, currency and quantity break; pricelevel names the levels", async () => {
  const [first, second] = [...(emu.records.get("inventoryItem")?.keys() ?? [])] as [string, string];
  assert.deepEqual(
    await suiteql("SELECT id, name FROM pricelevel WHERE name IN ('Wholesale', 'Gold') ORDER BY id"),
    [{ id: "2", name: "Wholesale" }],
  );
  // Seeded in the emulator's currency (EUR, id 2): Base Price = basePrice, Wholesale 2 less, 3 less from break 2.
  assert.deepEqual(
    await suiteql(
      `SELECT item, pricelevel, currency, quantity, unitprice FROM pricing WHERE item = ${first} ORDER BY pricelevel, quantity`,
    ),
    [
      { item: first, pricelevel: "1", currency: "2", quantity: 1, unitprice: 11 },
      { item: first, pricelevel: "2", currency: "2", quantity: 1, unitprice: 9 },
      { item: first, pricelevel: "2", currency: "2", quantity: 2, unitprice: 8 },
    ],
  );
  emu.setPrice(second, "2", "1", 13.5);
  assert.deepEqual(
    await suiteql(
      `SELECT currency, unitprice FROM pricing WHERE item = ${second} AND pricelevel IN (2) AND quantity = 1 ORDER BY currency`,
    ),
    [
      { currency: "1", unitprice: 13.5 },
      { currency: "2", unitprice: 10 },
    ],
  );
  emu.setPrice(second, "2", "1", null);
  assert.throws(() => emu.setPrice(second, "9", "1", 1), /no price level 9/);
  // No source shows a modification date on pricing: the emulator has none either.
  assert.throws(
    () => parseSuiteQL("SELECT lastmodifieddate FROM pricing", netsuiteShapes().suiteql.tables),
    /unknown column pricing.lastmodifieddate/,
  );
});

test("an invoice's tax split over several tax lines: one transactionline per amount, as given", async () => {
  const customer = [...(emu.records.get("customer")?.keys() ?? [])][0] as string;
  const item = [...(emu.records.get("inventoryItem")?.keys() ?? [])][0] as string;
  const created = await call("POST", "/services/rest/record/v1/salesOrder", {
    entity: { id: customer },
    otherRefNum: "shop:E-2",
    item: { items: [{ item: { id: item }, quantity: 1, rate: 4 }] },
  });
  const so = String(created.headers.get("location")?.split("/").pop());
  const inv = emu.invoice(so, { taxLines: [-0.7, -0.105] });
  assert.deepEqual(
    (
      await suiteql(
        `SELECT foreignamount FROM transactionline WHERE transaction = ${inv.id} AND taxline = 'T' ORDER BY id`,
      )
    ).map((l) => l.foreignamount),
    [-0.7, -0.105],
  );
});
