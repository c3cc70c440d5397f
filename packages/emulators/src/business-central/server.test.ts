/**
 * The Business Central emulator's own tests: the API v2.0 digest in front of it refuses what the pages do
 * not allow (unknown entity sets, fields and navigation, read-only fields in a write, values of the wrong
 * type, writes a read-only page refuses, PATCH without If-Match), the token endpoint and bearer tokens, the
 * 5-request limit answered 429 with Retry-After, `Prefer: odata.maxpagesize` paging with an absolute
 * `@odata.nextLink`, stale etags refused, and BC's document rules (totals computed from the lines, stock
 * moved by ledger entries); a sales invoice's and a credit memo's pdfDocument and its media read; webhook subscriptions (the
 * handshake on create and renew, If-Match, notifications batched per URL, a subscriber's refusal ending
 * the subscription). Driven over plain HTTP, never through the connector.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { bcDigest } from "./digest.ts";
import { type BcEmulator, startBcEmulator } from "./server.ts";

describe("the Business Central emulator", () => {
  let emu: BcEmulator;
  let token = "";
  let root = "";
  before(async () => {
    emu = await startBcEmulator({ items: 30, customers: 4 });
    token = await tokenFor(emu);
    root = `${emu.apiUrl}/api/v2.0/companies(${emu.companyId})`;
  });
  after(() => emu.close());

  async function tokenFor(e: BcEmulator, secret = e.clientSecret): Promise<string> {
    const res = await fetch(e.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: e.clientId,
        client_secret: secret,
        scope: "https://api.businesscentral.dynamics.com/.default",
      }).toString(),
    });
    if (res.status !== 200) return "";
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(path.startsWith("http") ? path : `${root}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      json: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    };
  }

  /** Runs `fn`, and returns the violations it added (the emulator's list is left as it was). */
  async function violationsOf(fn: () => Promise<unknown>): Promise<string[]> {
    const n = emu.violations.length;
    await fn();
    return emu.violations.splice(n);
  }

  test("the digest holds the 106 API v2.0 pages and companies", () => {
    const d = bcDigest();
    assert.equal(d.pages, 106);
    assert.ok(d.entity("companies"));
    assert.equal(d.entity("salesOrders")?.fields.get("totalAmountIncludingTax")?.readOnly, true);
    assert.equal(d.entity("salesShipments")?.insertAllowed, false);
    assert.equal(d.entity("customerPriceGroups"), undefined, "API v2.0 has no price group page");
  });

  test("a wrong secret gets no token; no token, no API", async () => {
    assert.equal(await tokenFor(emu, "wrong"), "");
    const res = await fetch(`${root}/items`);
    assert.equal(res.status, 401);
  });

  test("a write to a read-only field, an unknown field or a value of the wrong type is refused and recorded", async () => {
    const customer = [...emu.data.customers.values()][0] as { id: string };
    const v = await violationsOf(async () => {
      const r1 = await call("POST", "salesOrders", { customerId: customer.id, totalAmountIncludingTax: 10 });
      assert.equal(r1.status, 400);
      const r2 = await call("POST", "customers", { displayName: "X", priceGroup: "RETAIL" });
      assert.equal(r2.status, 400);
      const r3 = await call("POST", "customers", { displayName: 42 });
      assert.equal(r3.status, 400);
      const r4 = await call("POST", "salesShipments", { externalDocumentNumber: "x" });
      assert.equal(r4.status, 400);
    });
    assert.equal(v.length, 4, v.join("\n"));
    assert.match(v[0] as string, /salesOrders\.totalAmountIncludingTax is read-only/);
    assert.match(v[1] as string, /customers has no field priceGroup/);
    assert.match(v[2] as string, /displayName is string/);
    assert.match(v[3] as string, /salesShipments does not allow inserts/);
  });

  test("query options name only fields of the page", async () => {
    const v = await violationsOf(async () => {
      assert.equal((await call("GET", "items?$select=id,price")).status, 400);
      assert.equal((await call("GET", "items?$filter=price gt 3")).status, 400);
      assert.equal((await call("GET", "items?$expand=prices")).status, 400);
      assert.equal((await call("GET", "items?$apply=x")).status, 400);
      assert.equal((await call("GET", "customerPriceGroups")).status, 400);
    });
    assert.equal(v.length, 5, v.join("\n"));
  });

  test("collections page at Prefer: odata.maxpagesize with an absolute nextLink", async () => {
    const seen: unknown[] = [];
    let next: string | undefined = `${root}/items?$orderby=number`;
    let pages = 0;
    while (next) {
      const r = await call("GET", next, undefined, { prefer: "odata.maxpagesize=7" });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("preference-applied"), "odata.maxpagesize=7");
      seen.push(...((r.json?.value ?? []) as unknown[]));
      next = r.json?.["@odata.nextLink"] as string | undefined;
      if (next) assert.match(next, /^http:\/\/127\.0\.0\.1:\d+\/v2\.0\/.*\$skiptoken=/);
      pages++;
    }
    assert.equal(seen.length, 30);
    assert.equal(pages, 5);
  });

  test("PATCH needs If-Match: none is refused, a stale etag is 412, the current one applies", async () => {
    const id = [...emu.data.customers.keys()][0] as string;
    const got = await call("GET", `customers(${id})`);
    const etag = String(got.json?.["@odata.etag"]);
    const v = await violationsOf(async () => {
      assert.equal((await call("PATCH", `customers(${id})`, { city: "Lyon" })).status, 400);
    });
    assert.equal(v.length, 1);
    assert.equal(
      (await call("PATCH", `customers(${id})`, { city: "Lyon" }, { "if-match": etag })).status,
      200,
    );
    assert.equal(
      (await call("PATCH", `customers(${id})`, { city: "Nice" }, { "if-match": etag })).status,
      412,
    );
    assert.equal(emu.data.customers.get(id)?.city, "Lyon");
  });

  test("a sixth request at once is answered 429 with Retry-After", async () => {
    const slow = await startBcEmulator({ items: 2, delayMs: 100 });
    try {
      const t = await tokenFor(slow);
      const url = `${slow.apiUrl}/api/v2.0/companies(${slow.companyId})/items`;
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => fetch(url, { headers: { authorization: `Bearer ${t}` } })),
      );
      const throttled = answers.filter((a) => a.status === 429);
      assert.ok(throttled.length >= 1, answers.map((a) => a.status).join(","));
      assert.ok(answers.filter((a) => a.status === 200).length <= 5);
      assert.equal(throttled[0]?.headers.get("retry-after"), "1");
    } finally {
      await slow.close();
    }
  });

  test("BC computes an order's totals from its lines; posting stock does not modify the item", async () => {
    const customer = [...emu.data.customers.values()][0] as { id: string };
    const r = await call("POST", "salesOrders", {
      customerId: customer.id,
      externalDocumentNumber: "shop:1",
      discountAmount: 1,
      salesOrderLines: [{ lineType: "Item", lineObjectNumber: "ITEM-0001", quantity: 2, unitPrice: 10 }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json?.totalAmountExcludingTax, 19);
    assert.equal(r.json?.totalTaxAmount, 3.8);
    assert.equal(r.json?.totalAmountIncludingTax, 22.8);
    const bad = await call("POST", "salesOrders", {
      customerId: customer.id,
      salesOrderLines: [{ lineType: "Item", lineObjectNumber: "NOPE", quantity: 1 }],
    });
    assert.equal(bad.status, 400);
    assert.equal([...emu.data.salesOrders.values()].length, 1, "a refused deep insert keeps nothing");
    const item = [...emu.data.items.values()][0] as Record<string, unknown>;
    const stamp = item.lastModifiedDateTime;
    emu.data.post(item.id as string, 2, "Positive Adjmt.");
    assert.equal(item.lastModifiedDateTime, stamp);
    assert.deepEqual(emu.violations, []);
  });

  test("a sales invoice's pdfDocument, and its content read as media: a real PDF", async () => {
    const customer = [...emu.data.customers.values()][1] as { id: string };
    const order = emu.data.addOrderWithLines(
      { customerId: customer.id, externalDocumentNumber: "shop:pdf" },
      [{ lineType: "Item", lineObjectNumber: "ITEM-0002", quantity: 1 }],
    );
    const inv = emu.data.invoice(order.id as string);
    const doc = await call("GET", `salesInvoices(${String(inv.id)})/pdfDocument`);
    assert.equal(doc.status, 200, JSON.stringify(doc.json));
    assert.equal(doc.json?.parentId, inv.id);
    assert.equal(doc.json?.parentType, "Sales Invoice");
    const link = String(doc.json?.["pdfDocumentContent@odata.mediaReadLink"]);
    assert.ok(link.startsWith(`${emu.apiUrl}/api/v2.0/companies(`), link);
    const res = await fetch(link, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const pdf = Buffer.from(await res.arrayBuffer()).toString("latin1");
    assert.ok(pdf.startsWith("%PDF-1.4") && pdf.trimEnd().endsWith("%%EOF"));
    assert.ok(pdf.includes(String(inv.number)));
    // The page is read-only, its navigation takes no key, a stream is the only media field.
    const v = await violationsOf(async () => {
      assert.equal(
        (await call("PATCH", `salesInvoices(${String(inv.id)})/pdfDocument`, {}, { "if-match": "*" })).status,
        400,
      );
      assert.equal(
        (await call("GET", `salesInvoices(${String(inv.id)})/pdfDocument(${String(inv.id)})`)).status,
        400,
      );
      assert.equal((await call("GET", `salesInvoices(${String(inv.id)})/pdfDocument/parentId`)).status, 400);
    });
    assert.equal(v.length, 3, v.join("\n"));
    emu.data.emptyPdf.add(inv.id as string);
    assert.equal((await fetch(link, { headers: { authorization: `Bearer ${token}` } })).status, 204);
    emu.data.emptyPdf.delete(inv.id as string);
    assert.equal(
      (await call("GET", "salesInvoices(00000000-0000-4000-8000-000000000009)/pdfDocument")).status,
      404,
    );
    assert.deepEqual(emu.violations, []);
  });

  test("a credit memo posted against an invoice: listed through the digest, and its own PDF", async () => {
    const customer = [...emu.data.customers.values()][2] as { id: string };
    const order = emu.data.addOrderWithLines(
      { customerId: customer.id, externalDocumentNumber: "shop:credited" },
      [{ lineType: "Item", lineObjectNumber: "ITEM-0003", quantity: 2 }],
    );
    const inv = emu.data.invoice(order.id as string);
    const memo = emu.data.creditMemo(inv.id as string, { share: 0.5 });
    const draft = emu.data.creditMemo(inv.id as string, { draft: true });
    assert.equal(memo.invoiceNumber, inv.number);
    assert.equal(memo.totalAmountIncludingTax, Math.round(Number(inv.totalAmountIncludingTax) * 50) / 100);
    const list = await call(
      "GET",
      `salesCreditMemos?$filter=${encodeURIComponent("status ne 'Draft'")}&$orderby=lastModifiedDateTime,id&$select=id,number,invoiceId,invoiceNumber,status,totalAmountIncludingTax`,
    );
    assert.equal(list.status, 200, JSON.stringify(list.json));
    const rows = list.json?.value as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((r) => [r.id, r.status, r.invoiceId]),
      [[memo.id, "Open", inv.id]],
    );
    assert.ok(!rows.some((r) => r.id === draft.id), "a draft is Draft");
    const doc = await call("GET", `salesCreditMemos(${String(memo.id)})/pdfDocument`);
    assert.equal(doc.status, 200, JSON.stringify(doc.json));
    assert.equal(doc.json?.parentType, "Sales Credit Memo");
    const link = String(doc.json?.["pdfDocumentContent@odata.mediaReadLink"]);
    const res = await fetch(link, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const pdf = Buffer.from(await res.arrayBuffer()).toString("latin1");
    assert.ok(pdf.startsWith("%PDF-") && pdf.includes(`Sales - Credit Memo ${String(memo.number)}`));
    // An invoice's id is not a credit memo's.
    assert.equal((await call("GET", `salesCreditMemos(${String(inv.id)})/pdfDocument`)).status, 404);
    assert.deepEqual(emu.violations, []);
  });
});

describe("the Business Central emulator's webhook subscriptions", () => {
  let emu: BcEmulator;
  let token = "";
  let receiver: ReturnType<typeof createServer>;
  let hook = "";
  /** What the subscriber answers: echo the token (or not), and the status of notifications. */
  const subscriber = { echo: true, status: 200, received: [] as unknown[] };

  before(async () => {
    emu = await startBcEmulator({
      items: 2,
      customers: 2,
      webhooks: { delayMs: 10, retries: 2, retryMs: 5 },
    });
    const res = await fetch(emu.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: emu.clientId,
        client_secret: emu.clientSecret,
        scope: "https://api.businesscentral.dynamics.com/.default",
      }).toString(),
    });
    token = ((await res.json()) as { access_token: string }).access_token;
    receiver = createServer(async (req: IncomingMessage, out: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const v = new URL(req.url ?? "/", "http://x").searchParams.get("validationToken");
      if (v !== null) {
        out.writeHead(200, { "content-type": "text/plain" });
        return out.end(subscriber.echo ? v : "nope");
      }
      subscriber.received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      out.writeHead(subscriber.status);
      out.end();
    });
    await new Promise<void>((ok) => receiver.listen(0, "127.0.0.1", ok));
    hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    await emu.close();
    await new Promise<void>((ok) => receiver.close(() => ok()));
  });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${emu.apiUrl}/api/v2.0/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  }
  const resource = (set: string) => `/api/v2.0/companies(${emu.companyId})/${set}`;

  test("no echoed token, no subscription; an echoed one creates it for three days", async () => {
    subscriber.echo = false;
    const refused = await call("POST", "subscriptions", {
      notificationUrl: hook,
      resource: resource("customers"),
      clientState: "s3cret-state-0123",
    });
    assert.equal(refused.status, 400);
    assert.equal(emu.webhooks.all.size, 0);
    subscriber.echo = true;
    const made = await call("POST", "subscriptions", {
      notificationUrl: hook,
      resource: resource("customers"),
      clientState: "s3cret-state-0123",
    });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const left = Date.parse(String(made.json?.expirationDateTime)) - Date.now();
    assert.ok(Math.abs(left - 3 * 24 * 3600 * 1000) < 60_000, `${left}`);
    assert.deepEqual(
      emu.webhooks.handshakes.map((h) => h.ok),
      [false, true],
    );
    assert.deepEqual(emu.violations, []);
  });

  test("the contract: read-only fields, unknown sets, sets without webhooks and PATCH without If-Match are refused", async () => {
    const v = await violationsOf(async () => {
      for (const body of [
        { notificationUrl: hook, resource: resource("customers"), subscriptionId: "mine" },
        { notificationUrl: hook, resource: resource("nope") },
        { notificationUrl: hook, resource: resource("itemLedgerEntries") },
        { notificationUrl: "ftp://x", resource: resource("items") },
        { resource: resource("items") },
      ])
        assert.equal((await call("POST", "subscriptions", body)).status, 400, JSON.stringify(body));
      const id = [...emu.webhooks.all.keys()][0] as string;
      assert.equal((await call("PATCH", `subscriptions('${id}')`, { clientState: "x" })).status, 400);
    });
    assert.equal(v.length, 6, v.join("\n"));
    const id = [...emu.webhooks.all.keys()][0] as string;
    assert.equal(
      (await call("PATCH", `subscriptions('${id}')`, { clientState: "x" }, { "if-match": 'W/"stale"' }))
        .status,
      412,
    );
  });

  test("changes are sent in one notification per URL, one entry per entity, then a refusal ends the subscription", async () => {
    const [a, b] = [...emu.data.customers.values()] as { id: string }[];
    emu.data.patchCustomer(a?.id as string, { phoneNumber: "1" });
    emu.data.patchCustomer(a?.id as string, { phoneNumber: "2" });
    emu.data.patchCustomer(b?.id as string, { phoneNumber: "3" });
    emu.data.patchItem([...emu.data.items.keys()][0] as string, { gtin: "1" });
    await emu.webhooks.flush();
    const last = subscriber.received.at(-1) as { value: Record<string, unknown>[] };
    assert.equal(subscriber.received.length, 1);
    assert.equal(last.value.length, 2, "items are not subscribed; two changes of one customer are one entry");
    for (const e of last.value) {
      assert.deepEqual(Object.keys(e).sort(), [
        "changeType",
        "clientState",
        "expirationDateTime",
        "lastModifiedDateTime",
        "resource",
        "subscriptionId",
      ]);
      assert.equal(e.changeType, "updated");
      assert.equal(e.clientState, "s3cret-state-0123");
    }
    // 5xx is retried; a 404 (any status but 408, 429, 5xx) deletes the subscription.
    subscriber.status = 503;
    emu.data.patchCustomer(a?.id as string, { phoneNumber: "4" });
    await emu.webhooks.flush();
    assert.deepEqual(
      emu.webhooks.deliveries.slice(-2).map((d) => d.status),
      [503, 503],
    );
    assert.equal(emu.webhooks.all.size, 1);
    subscriber.status = 404;
    emu.data.patchCustomer(a?.id as string, { phoneNumber: "5" });
    await emu.webhooks.flush();
    assert.equal(emu.webhooks.all.size, 0);
    subscriber.status = 200;
    assert.deepEqual(emu.violations, []);
  });

  async function violationsOf(fn: () => Promise<unknown>): Promise<string[]> {
    const n = emu.violations.length;
    await fn();
    return emu.violations.splice(n);
  }
});
