/**
 * The SAP Business One emulator's own tests: the $metadata document in front of it refuses what the
 * document does not allow (unknown sets and properties, wrong EDM types, enum members, key literals, query
 * options), sessions behave as Service Layer's do, collections page by `Prefer: odata.maxpagesize` and
 * `@odata.nextLink`, and the document rules behind it are B1's (committed stock, approval before delivery,
 * totals computed by the server). Driven over plain HTTP, never through the connector.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sapB1Metadata, sapB1SpecSkip } from "./metadata.ts";
import { type SapB1Emulator, startSapB1Emulator } from "./server.ts";

describe("the SAP Business One emulator", { skip: sapB1SpecSkip() }, () => {
  let emu: SapB1Emulator;
  let cookie = "";
  before(async () => {
    emu = await startSapB1Emulator({ items: 30, customers: 4 });
    cookie = await login();
  });
  after(() => emu.close());

  async function login(password = emu.password): Promise<string> {
    const res = await fetch(`${emu.url}/b1s/v2/Login`, {
      method: "POST",
      body: JSON.stringify({ CompanyDB: emu.companyDB, UserName: emu.username, Password: password }),
    });
    if (res.status !== 200) return "";
    return res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
  }

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${emu.url}/b1s/v2/${path}`, {
      method,
      headers: { cookie, ...headers },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  describe("the $metadata document in front of it", () => {
    test("the document parses into the sets, keys, types and actions the emulator serves", () => {
      const md = sapB1Metadata();
      assert.ok(md.entitySets.size > 400, `${md.entitySets.size} entity sets`);
      assert.deepEqual(md.typeOfSet("Items")?.key, ["ItemCode"]);
      assert.deepEqual(md.typeOfSet("Orders")?.key, ["DocEntry"]);
      assert.equal(md.typeOfSet("DeliveryNotes")?.properties.get("TrackingNumber")?.type, "Edm.String");
      assert.equal(md.typeOfSet("Items")?.properties.get("UpdateTime")?.type, "Edm.TimeOfDay");
      assert.ok(md.unboundAction("Login")?.parameters.has("CompanyDB"));
      assert.ok(md.boundAction("Cancel", "SAPB1.Document"));
    });

    test("a malformed request is refused with a 400 naming what broke, and recorded", async () => {
      const cases: [string, string, unknown, RegExp][] = [
        ["POST", "Items", { ItemCode: "X1", ItemKode: "typo" }, /SAPB1\.Item has no property ItemKode/],
        [
          "POST",
          "Items",
          { ItemCode: "X1", SalesUnitWeight: "heavy" },
          /SalesUnitWeight must be Edm\.Double/,
        ],
        ["POST", "Items", { ItemCode: null }, /ItemCode must not be null/],
        ["POST", "BusinessPartners", { CardCode: "Z1", CardType: "customer" }, /BoCardTypes/],
        [
          "POST",
          "Orders",
          { CardCode: "C00001", DocumentLines: [{ ItemCode: "ITEM-0001", Quantity: "two" }] },
          /DocumentLines\[0\]\.Quantity must be Edm\.Double/,
        ],
        [
          "POST",
          "Orders",
          { CardCode: "C00001", DocumentLines: [{ ItemCode: "ITEM-0001", Colour: "red" }] },
          /DocumentLine has no property Colour/,
        ],
        ["GET", "Items(ITEM-0001)", undefined, /must be quoted/],
        ["GET", "Orders('12')", undefined, /DocEntry is Edm\.Int32/],
        ["GET", "Itemz", undefined, /no entity set Itemz/],
        ["GET", "Items?$filter=ItemKode eq 'A'", undefined, /has no property ItemKode/],
        ["GET", "Items?$filter=UpdateDate ge '2026-01-01'", undefined, /UpdateDate is Edm\.DateTimeOffset/],
        ["GET", "Items?$select=ItemCode,Colour", undefined, /has no property Colour/],
        ["GET", "Items?$orderby=Colour", undefined, /has no property Colour/],
        ["GET", "Items?$expand=ItemPrices", undefined, /unknown query option \$expand/],
        ["POST", "Orders(1)/Close2", undefined, /no bound action Close2/],
        ["POST", "Login", { CompanyDB: emu?.companyDB, User: "manager" }, /Login has no parameter User/],
      ];
      for (const [method, path, body, message] of cases) {
        const before = emu.violations.length;
        const res = await call(method, path, body);
        assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error.message, message, `${method} ${path}`);
        assert.ok(emu.violations.length > before, `${method} ${path}: not recorded as a violation`);
      }
      emu.violations.length = 0;
    });

    test("a user-defined field (U_) is the only dynamic property an open type takes", async () => {
      const ok = await call("POST", "Items", { ItemCode: "UDF-1", ItemName: "With UDF", U_ShopSync: "Y" });
      assert.equal(ok.status, 201);
      assert.equal(ok.body.U_ShopSync, "Y");
      assert.deepEqual(emu.violations, []);
    });

    test("an answer the document does not allow is recorded as a violation", async () => {
      const item = emu.data.items.get("ITEM-0004");
      assert.ok(item);
      item.Colour = "red";
      item.SalesUnitWeight = "heavy";
      try {
        assert.equal((await call("GET", "Items('ITEM-0004')")).status, 200);
        assert.deepEqual(emu.violations.sort(), [
          "answer: GET Items(key) answer.Colour: SAPB1.Item has no property Colour",
          'answer: GET Items(key) answer.SalesUnitWeight must be Edm.Double, got "heavy"',
        ]);
      } finally {
        delete item.Colour;
        item.SalesUnitWeight = 1;
        emu.violations.length = 0;
      }
    });

    test("a navigation property is not a value a request may set", async () => {
      const res = await call("POST", "BusinessPartners", { CardCode: "Z2", Orders: [] });
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, /navigation property/);
      emu.violations.length = 0;
    });
  });

  describe("sessions", () => {
    test("a wrong password is refused; no session cookie, no access", async () => {
      assert.equal(await login("wrong"), "");
      const res = await fetch(`${emu.url}/b1s/v2/Items`);
      assert.equal(res.status, 401);
    });

    test("Login sets B1SESSION and ROUTEID and answers the session's timeout", async () => {
      const res = await fetch(`${emu.url}/b1s/v2/Login`, {
        method: "POST",
        body: JSON.stringify({ CompanyDB: emu.companyDB, UserName: emu.username, Password: emu.password }),
      });
      const body = (await res.json()) as { SessionId: string; SessionTimeout: number };
      assert.equal(body.SessionTimeout, 30);
      const names = res.headers.getSetCookie().map((c) => c.split("=")[0]);
      assert.deepEqual(names, ["B1SESSION", "ROUTEID"]);
    });

    test("an ended session is refused with a 401 until the next login", async () => {
      emu.expireSessions();
      assert.equal((await call("GET", "Items('ITEM-0001')")).status, 401);
      cookie = await login();
      assert.equal((await call("GET", "Items('ITEM-0001')")).status, 200);
    });
  });

  describe("paging", () => {
    test("Prefer: odata.maxpagesize sets the page; @odata.nextLink leads through every record once", async () => {
      const seen: string[] = [];
      let path: string | undefined = "Items?$select=ItemCode&$orderby=ItemCode";
      let pages = 0;
      while (path) {
        const res = await call("GET", path, undefined, { prefer: "odata.maxpagesize=7" });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("preference-applied"), "odata.maxpagesize=7");
        assert.ok(res.body.value.length <= 7);
        seen.push(...res.body.value.map((r: { ItemCode: string }) => r.ItemCode));
        path = res.body["@odata.nextLink"];
        pages++;
      }
      assert.equal(pages, Math.ceil(emu.data.items.size / 7));
      assert.deepEqual(seen, [...emu.data.items.keys()].sort());
    });

    test("without a preference the page is Service Layer's default of 20", async () => {
      const res = await call("GET", "Items?$select=ItemCode");
      assert.equal(res.body.value.length, 20);
      assert.match(res.body["@odata.nextLink"], /^Items\?.*\$skip=20/);
    });
  });

  describe("B1's document rules", () => {
    test("an order commits stock, waits for approval before delivery, and its delivery takes stock out", async () => {
      type Stock = { WarehouseCode: string; InStock: number; Committed: number };
      const stock = () => {
        const rows = emu.data.items.get("ITEM-0003")?.ItemWarehouseInfoCollection as Stock[] | undefined;
        const row = rows?.find((w) => w.WarehouseCode === "01");
        assert.ok(row, "ITEM-0003 has no row for warehouse 01");
        return row;
      };
      const before = { ...stock() };
      const order = await call("POST", "Orders", {
        CardCode: "C00001",
        NumAtCard: "shop:42",
        Confirmed: "tNO",
        DocumentLines: [{ ItemCode: "ITEM-0003", Quantity: 2, UnitPrice: 10, VatGroup: "S1" }],
      });
      assert.equal(order.status, 201);
      assert.equal(order.body.DocTotal, 24);
      assert.equal(order.body.VatSum, 4);
      assert.equal(stock().Committed, before.Committed + 2);
      const entry = order.body.DocEntry;
      const early = await call("POST", "DeliveryNotes", {
        CardCode: "C00001",
        TrackingNumber: "1Z1",
        DocumentLines: [{ BaseType: 17, BaseEntry: entry, BaseLine: 0 }],
      });
      assert.equal(early.status, 400);
      assert.match(early.body.error.message, /not approved/);
      assert.equal((await call("PATCH", `Orders(${entry})`, { Confirmed: "tYES" })).status, 204);
      const delivery = await call("POST", "DeliveryNotes", {
        CardCode: "C00001",
        TrackingNumber: "1Z1",
        DocumentLines: [{ BaseType: 17, BaseEntry: entry, BaseLine: 0 }],
      });
      assert.equal(delivery.status, 201);
      assert.equal(delivery.body.NumAtCard, "shop:42", "the delivery copies the order's NumAtCard");
      assert.deepEqual(stock(), { ...before, InStock: before.InStock - 2, Committed: before.Committed });
      assert.equal((await call("GET", `Orders(${entry})`)).body.DocumentStatus, "bost_Close");
      const cancel = await call("POST", `Orders(${entry})/Cancel`);
      assert.equal(cancel.status, 400, "a delivered order cannot be cancelled");
      assert.deepEqual(emu.violations, []);
    });
  });
});
