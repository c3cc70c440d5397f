/**
 * The SAP Business One connector against its emulator, beyond the contract suite: the session (login,
 * renewal before the timeout, one re-login on a 401, the password kept out of errors), the incremental
 * boundary of UpdateDate + UpdateTime, Service Layer's paging, the order writer's lookup by NumAtCard across
 * a crash, its hold on a total B1 does not agree with, and a delivery's tracking read back for the shop.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type SapB1Emulator, sapB1SpecSkip, startSapB1Emulator } from "@passerelle/emulators";
import { sapB1Customer, sapB1Order } from "../../../test/fixtures/sap-b1-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Order } from "../../core/model.ts";
import type { Connector, Stream } from "../../ports/connector.ts";
import { SapB1Client } from "./client.ts";
import { SapB1Config } from "./config.ts";
import { sapB1 } from "./index.ts";
import { b1UpdatedAt, changedSince } from "./time.ts";

const noLinks = { resolve: async () => null };
const FAR = "2999-01-01T00:00:00Z";

async function readAll(
  stream: Stream,
  since: { updatedAt: string; id: string } | null = null,
  pageSize = 50,
) {
  const pages: unknown[][] = [];
  for await (const page of stream.list({ since, signpost: FAR, pageSize })) pages.push(page);
  return pages;
}

describe("the SAP Business One connector", { skip: sapB1SpecSkip() }, () => {
  let emu: SapB1Emulator;
  let config: SapB1Config;
  let conn: Connector;
  before(async () => {
    emu = await startSapB1Emulator({ items: 25, customers: 6 });
    config = SapB1Config.parse({
      url: emu.url,
      companyDB: emu.companyDB,
      username: emu.username,
      password: emu.password,
      pageSize: 10,
      customerGroups: { General: 100, Wholesale: 101 },
      vatGroup: "S1",
    });
    conn = sapB1.create("b1", config);
  });
  after(async () => {
    await conn.close();
    await emu.close();
  });

  describe("the session", () => {
    test("a session that ended is renewed by one login and the call repeated", async () => {
      await conn.check();
      const logins = emu.stats.logins;
      emu.expireSessions();
      assert.ok(await conn.streams.product?.get("ITEM-0001"));
      assert.equal(emu.stats.logins, logins + 1);
    });

    test("a second 401 after the re-login is reported, not retried forever", async () => {
      let calls = 0;
      const refusing: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).includes("/Login")) return res;
        calls++;
        return new Response(JSON.stringify({ error: { code: "301", message: "Invalid session" } }), {
          status: 401,
        });
      };
      const client = new SapB1Client("b1-refused", config, refusing);
      const c = sapB1.assemble("b1-refused", { name: "b1-refused", config, client });
      const err = await c.streams.product?.get("ITEM-0001").catch((e: unknown) => e);
      assert.ok(err instanceof SyncError && err.kind === "config", String(err));
      assert.equal(client.logins, 2, "one login, then one re-login");
      assert.equal(calls, 2);
    });

    test("the session is renewed before its timeout runs out, without waiting for a 401", async () => {
      let now = 0;
      const client = new SapB1Client("b1-clock", config, undefined, () => now);
      const c = sapB1.assemble("b1-clock", { name: "b1-clock", config, client });
      await c.check();
      now += 10 * 60_000;
      await c.check();
      assert.equal(client.logins, 1, "a used session lives on");
      now += 29 * 60_000 + 1;
      await c.check();
      assert.equal(client.logins, 2, "idle for the session's 30 minutes less a margin: logged in again");
    });

    test("the password is sent in the Login body only and never appears in an error", async () => {
      const bad = sapB1.create("b1-bad", { ...config, password: "s3cret-Passw0rd" });
      const err = await bad.check().catch((e: unknown) => e);
      assert.ok(err instanceof SyncError && err.kind === "config");
      assert.match(err.message, /refused the login of user "manager" on company "SBODEMOFR"/);
      assert.doesNotMatch(`${err.message} ${JSON.stringify(err)} ${String(err.stack)}`, /s3cret-Passw0rd/);
      const sent = emu.bodies.filter((b) => b.includes("s3cret-Passw0rd"));
      assert.ok(sent.length > 0 && sent.every((b) => JSON.parse(b).Password === "s3cret-Passw0rd"));
    });
  });

  describe("incremental reads on UpdateDate + UpdateTime", () => {
    test("the filter takes a later day at any time and the cursor's day from its second on", () => {
      assert.equal(
        changedSince("2026-03-10T09:15:30.500Z"),
        "(UpdateDate gt 2026-03-10T00:00:00Z or (UpdateDate eq 2026-03-10T00:00:00Z and (UpdateTime ge 09:15:30 or UpdateTime eq null)))",
      );
      assert.equal(
        b1UpdatedAt({ UpdateDate: "2026-03-10T00:00:00Z", UpdateTime: "09:15:30" }),
        "2026-03-10T09:15:30Z",
      );
      assert.equal(
        b1UpdatedAt({ UpdateDate: "2026-03-10T00:00:00Z", UpdateTime: null }),
        "2026-03-10T00:00:00Z",
      );
    });

    test("records changed later the same day and early the next day are read; earlier ones are not", async () => {
      const stamp = (iso: string, code: string) => {
        emu.data.now = () => new Date(iso);
        emu.data.addItem({ ItemCode: code, ItemName: code });
      };
      stamp("2030-05-01T08:00:00Z", "BND-A-EARLIER-DAY");
      stamp("2030-05-02T09:00:00Z", "BND-B-CURSOR");
      stamp("2030-05-02T08:59:59Z", "BND-C-SAME-DAY-BEFORE");
      stamp("2030-05-02T17:45:00Z", "BND-D-SAME-DAY-LATER");
      stamp("2030-05-03T07:00:00Z", "BND-E-NEXT-DAY-EARLIER-TIME");
      emu.data.now = () => new Date();
      const stream = conn.streams.product as Stream;
      const rows = (await readAll(stream, { updatedAt: "2030-05-02T09:00:00Z", id: "BND-B-CURSOR" })).flat();
      const codes = rows.map((r) => stream.idOf(r)).filter((c) => c.startsWith("BND-"));
      // The cursor's own record comes back (the engine drops it: at or before the cursor).
      assert.deepEqual(codes, ["BND-B-CURSOR", "BND-D-SAME-DAY-LATER", "BND-E-NEXT-DAY-EARLIER-TIME"]);
      for (const r of rows) emu.data.items.delete(stream.idOf(r));
      emu.data.items.delete("BND-A-EARLIER-DAY");
      emu.data.items.delete("BND-C-SAME-DAY-BEFORE");
    });
  });

  test("reads follow @odata.nextLink in pages of at most pageSize, in (UpdateDate, UpdateTime, ItemCode) order", async () => {
    const stream = conn.streams.product as Stream;
    const requests = emu.stats.requests;
    const pages = await readAll(stream, null, 4);
    assert.ok(pages.every((p) => p.length <= 4));
    const ids = pages.flat().map((r) => stream.idOf(r));
    assert.equal(ids.length, emu.data.items.size);
    assert.equal(emu.stats.requests - requests, pages.length, "one request per page");
    assert.ok(emu.checked.get("GET Items"));
  });

  describe("sales orders", () => {
    const email = "customer1@example.com";
    const write = (o: Order, targetId: string | null = null) =>
      conn.writers.order?.upsert([{ key: o.key, record: o, targetId, externalRef: o.key }], noLinks) ?? [];

    test("a crash between the create and its record finds the order by NumAtCard instead of creating another", async () => {
      const o = sapB1Order(email);
      const [first] = await write(o);
      assert.ok(first?.ok && first.action === "created", JSON.stringify(first));
      // The link was never recorded: the engine writes again with no target id.
      const [again] = await write(o);
      assert.ok(again?.ok, JSON.stringify(again));
      assert.equal(again.targetId, first.targetId);
      assert.notEqual(again.action, "created");
      const same = [...emu.data.documents.Orders.values()].filter((d) => d.NumAtCard === o.key);
      assert.equal(same.length, 1);
      assert.equal(same[0]?.Confirmed, "tYES");
      assert.equal(await conn.writers.order?.findByExternalRef(o.key, o), first.targetId);
    });

    test("an order created but not yet approved when the run stopped is approved on the next write", async () => {
      const o = sapB1Order(email);
      const created = emu.data.addDocument("Orders", {
        CardCode: "C00001",
        NumAtCard: o.key,
        Confirmed: "tNO",
        DocumentLines: o.lines.map((l) => ({
          ItemCode: l.sku,
          Quantity: l.quantity,
          UnitPrice: Number(l.unitPrice),
          VatGroup: "S1",
        })),
      });
      const [r] = await write(o);
      assert.ok(r?.ok && r.action === "updated", JSON.stringify(r));
      assert.equal(r.targetId, String(created.DocEntry));
      assert.equal(created.Confirmed, "tYES");
    });

    test("a total B1 computes differently leaves the order unapproved, so B1 will not deliver it", async () => {
      const o = { ...sapB1Order(email), total: "99.99" };
      const [r] = await write(o);
      assert.ok(r && !r.ok && r.error.kind === "data", JSON.stringify(r));
      assert.match(r.error.message, /computes a total of 30\.60 EUR but the order says 99\.99/);
      const held = [...emu.data.documents.Orders.values()].find((d) => d.NumAtCard === o.key);
      assert.equal(held?.Confirmed, "tNO");
      assert.throws(() => emu.data.deliver(held?.DocEntry as number, "T"), /not approved/);
    });

    test("a delivery with its tracking number is read back as the shop order's shipment", async () => {
      const o = sapB1Order(email);
      const [r] = await write(o);
      assert.ok(r?.ok);
      const delivery = emu.data.deliver(Number(r.targetId), "1Z999AA10123456784");
      const stream = conn.streams.shipment as Stream;
      const native = await stream.get(String(delivery.DocEntry));
      const s = (await stream.toCanonical(native)) as {
        orderKey: string;
        orderNumber: string;
        trackingNumbers: string[];
        lines: unknown[];
      };
      assert.equal(s.orderKey, o.key);
      assert.equal(s.orderNumber, o.number);
      assert.deepEqual(s.trackingNumbers, ["1Z999AA10123456784"]);
      assert.deepEqual(s.lines, [
        { sku: "ITEM-0001", quantity: 2 },
        { sku: "ITEM-0002", quantity: 1 },
      ]);
    });
  });

  describe("sales orders of a page in $batch requests", () => {
    const email = "customer2@example.com";
    const page = (orders: Order[], targetIds: (string | null)[] = []) =>
      orders.map((o, i) => ({ key: o.key, record: o, targetId: targetIds[i] ?? null, externalRef: o.key }));
    const upsert = async (items: ReturnType<typeof page>) =>
      (await conn.writers.order?.upsert(items, noLinks)) ?? [];
    const held = (o: Order) => [...emu.data.documents.Orders.values()].filter((d) => d.NumAtCard === o.key);
    const batches = () => emu.checked.get("POST $batch") ?? 0;

    test("a page of six new orders costs three requests (reads, creates, approvals), as the plan says", async () => {
      await conn.check();
      const orders = Array.from({ length: 6 }, () => sapB1Order(email));
      const items = page(orders);
      const planned = await conn.writers.order?.estimateCalls(
        { create: items, update: [], lookups: [], first: false },
        noLinks,
      );
      const requests = emu.stats.requests;
      const results = await upsert(items);
      assert.equal(emu.stats.requests - requests, 3);
      assert.equal(planned, 3);
      for (const [i, r] of results.entries()) {
        assert.ok(r.ok && r.action === "created", JSON.stringify(r));
        const [one, ...more] = held(orders[i] as Order);
        assert.equal(more.length, 0);
        assert.equal(String(one?.DocEntry), r.targetId);
        assert.equal(one?.Confirmed, "tYES");
      }
      // Below the threshold each order has its own calls.
      assert.equal(
        await conn.writers.order?.estimateCalls(
          { create: items.slice(0, 1), update: [], lookups: [], first: false },
          noLinks,
        ),
        4,
      );
      // Cancelling two of them, linked by DocEntry: their reads by key, then both cancellations.
      const cancel = [orders[0], orders[1]].map((o) => ({ ...(o as Order), cancelled: true }));
      const before = emu.stats.requests;
      const cancelled = await upsert(
        page(
          cancel,
          [results[0], results[1]].map((r) => (r?.ok ? r.targetId : null)),
        ),
      );
      assert.equal(emu.stats.requests - before, 2);
      assert.ok(cancelled.every((r) => r.ok && r.action === "updated" && /cancelled/.test(r.note ?? "")));
      assert.ok(cancel.every((o) => held(o)[0]?.Cancelled === "tYES"));
      assert.deepEqual(emu.violations, []);
    });

    test("an order with an unknown item fails alone; the others of its page are created", async () => {
      const bad = sapB1Order(email);
      bad.lines = [{ ...(bad.lines[0] as Order["lines"][number]), sku: "NO-SUCH-ITEM" }];
      const orders = [sapB1Order(email), bad, sapB1Order(email)];
      const [first, refused, third] = await upsert(page(orders));
      assert.ok(first?.ok && first.action === "created", JSON.stringify(first));
      assert.ok(third?.ok && third.action === "created", JSON.stringify(third));
      assert.ok(refused && !refused.ok, JSON.stringify(refused));
      assert.equal(refused.error.kind, "permanent");
      assert.match(
        refused.error.message,
        /answered HTTP 400 to POST \/b1s\/v2\/Orders \(Orders create, in a \$batch\).*NO-SUCH-ITEM/,
      );
      assert.equal(held(bad).length, 0);
    });

    test("when Service Layer stops a batch at a failed part, the parts it never ran are sent again", async () => {
      // As a Service Layer that ignores odata.continue-on-error would: the emulator then stops at the first
      // failed part (OData v4 §8.2.8.3) and answers nothing after it.
      const ignoring: typeof fetch = async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.delete("prefer");
        return fetch(input, { ...init, headers });
      };
      const client = new SapB1Client("b1-stops", config, ignoring);
      const c = sapB1.assemble("b1-stops", { name: "b1-stops", config, client });
      const bad = sapB1Order(email);
      bad.lines = [{ ...(bad.lines[0] as Order["lines"][number]), sku: "NO-SUCH-ITEM" }];
      const orders = [sapB1Order(email), bad, sapB1Order(email), sapB1Order(email)];
      const before = batches();
      const results = (await c.writers.order?.upsert(page(orders), noLinks)) ?? [];
      assert.equal(
        batches() - before,
        4,
        "reads, creates up to the refused one, the creates after it, approvals",
      );
      assert.ok(results[1] && !results[1].ok && results[1].error.kind === "permanent");
      for (const i of [0, 2, 3]) {
        const r = results[i];
        assert.ok(r?.ok && r.action === "created", JSON.stringify(r));
        assert.equal(held(orders[i] as Order).length, 1);
      }
      await c.close();
    });

    test("a create refused with 429 or 503 fails that order as retryable; it is created on the next write", async () => {
      const orders = [sapB1Order(email), sapB1Order(email), sapB1Order(email)];
      emu.partFaults.push(
        { method: "POST", path: /\/Orders$/, status: 429 },
        { method: "POST", path: /\/Orders$/, status: 503 },
      );
      const [a, b, c] = await upsert(page(orders));
      assert.ok(a && !a.ok && a.error.kind === "rate_limited", JSON.stringify(a));
      assert.equal(a.error.details.retryAfterMs, 1000);
      assert.ok(b && !b.ok && b.error.kind === "retryable", JSON.stringify(b));
      assert.ok(c?.ok && c.action === "created", JSON.stringify(c));
      const again = await upsert(page([orders[0], orders[1]] as Order[]));
      assert.ok(
        again.every((r) => r.ok && r.action === "created"),
        JSON.stringify(again),
      );
      assert.ok(orders.every((o) => held(o).length === 1));
    });

    test("a write $batch whose answer is lost is not sent again; the next attempt finds its orders and creates none twice", async () => {
      const orders = Array.from({ length: 4 }, () => sapB1Order(email));
      const batchesBefore = batches();
      emu.dropBatchAnswers(1);
      const lost = await upsert(page(orders));
      assert.equal(batches() - batchesBefore, 2, "the reads, then the creates once: never re-sent");
      for (const r of lost) {
        assert.ok(!r.ok && r.error.kind === "retryable", JSON.stringify(r));
        assert.match(r.error.message, /whether it was applied is unknown/);
      }
      // Service Layer applied the creates; their answer never came back.
      assert.ok(orders.every((o) => held(o).length === 1 && held(o)[0]?.Confirmed === "tNO"));
      const retried = await upsert(page(orders));
      for (const [i, r] of retried.entries()) {
        assert.ok(r.ok && r.action === "updated", JSON.stringify(r));
        const [one, ...more] = held(orders[i] as Order);
        assert.equal(more.length, 0, "never created twice");
        assert.equal(r.targetId, String(one?.DocEntry));
        assert.equal(one?.Confirmed, "tYES");
      }
    });
  });

  test("a customer's group maps to its B1 group both ways", async () => {
    const c = { ...sapB1Customer(900), group: "Wholesale" };
    const [r] =
      (await conn.writers.customer?.upsert(
        [{ key: c.key, record: c, targetId: null, externalRef: c.key }],
        noLinks,
      )) ?? [];
    assert.ok(r?.ok, JSON.stringify(r));
    assert.equal(emu.data.partners.get(r.targetId)?.GroupCode, 101);
    const back = await conn.streams.customer?.toCanonical(
      (await conn.streams.customer?.get(r.targetId)) as never,
    );
    assert.equal((back as { group?: string }).group, "Wholesale");
    assert.deepEqual(emu.violations, []);
  });
});
