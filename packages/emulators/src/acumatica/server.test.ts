/**
 * The Acumatica emulator's own tests, over plain HTTP (never through the connector): the OpenAPI document in
 * front of it refuses what it does not allow (unknown fields, undeclared query parameters, unwrapped
 * values), sessions behave as cookie logins do, and the rules behind it are Acumatica's (upsert by key,
 * $expand of detail and linked entities, $filter on LastModifiedDateTime, $top/$skip, server totals, 429 over
 * the request limit).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { acumaticaSpecSkip } from "./contract.ts";
import { type AcumaticaEmulator, startAcumaticaEmulator } from "./server.ts";

const ROOT = "/entity/Default/24.200.001";

describe("the Acumatica emulator", { skip: acumaticaSpecSkip() }, () => {
  let emu: AcumaticaEmulator;
  let cookie = "";
  before(async () => {
    emu = await startAcumaticaEmulator({ items: 30, customers: 4 });
    cookie = await login();
  });
  after(() => emu.close());

  async function login(password = emu.password): Promise<string> {
    const res = await fetch(`${emu.url}/entity/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: emu.username, password, company: emu.tenant }),
    });
    if (res.status !== 204) return "";
    return res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
  }

  async function call(method: string, path: string, body?: unknown, as = cookie) {
    const res = await fetch(`${emu.url}${ROOT}${path}`, {
      method,
      headers: { cookie: as, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  }

  test("a wrong password is a 401 that does not repeat it; no session is a 401", async () => {
    const res = await fetch(`${emu.url}/entity/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: emu.username, password: "guess-1234" }),
    });
    assert.equal(res.status, 401);
    assert.ok(!(await res.text()).includes("guess-1234"));
    assert.equal((await call("GET", "/StockItem?$top=1", undefined, "")).status, 401);
  });

  test("the document refuses undeclared query parameters, unknown fields and unwrapped values", async () => {
    const before = emu.violations.length;
    assert.equal((await call("GET", "/StockItem?$orderby=InventoryID")).status, 400);
    assert.equal((await call("GET", "/StockItem?$select=NoSuchField")).status, 400);
    assert.equal(
      (await call("PUT", "/StockItem", { InventoryID: { value: "X1" }, Colour: { value: "red" } })).status,
      400,
    );
    assert.equal((await call("PUT", "/StockItem", { InventoryID: "X1" })).status, 400);
    assert.equal((await call("GET", "/NoSuchEntity")).status, 404);
    assert.equal(emu.violations.length - before, 5, emu.violations.slice(before).join("\n"));
    emu.violations.length = before;
  });

  test("lists page by $top/$skip in key order, filter on LastModifiedDateTime and expand details", async () => {
    const page1 = (await call("GET", "/StockItem?$top=10")).body as { InventoryID: { value: string } }[];
    const page2 = (await call("GET", "/StockItem?$top=10&$skip=10")).body as {
      InventoryID: { value: string };
    }[];
    assert.equal(page1.length, 10);
    assert.ok((page1.at(-1)?.InventoryID.value ?? "") < (page2[0]?.InventoryID.value ?? ""));
    assert.ok(!("WarehouseDetails" in (page1[0] as object)), "details came without $expand");
    const expanded = (await call("GET", "/StockItem?$top=1&$expand=WarehouseDetails")).body as {
      WarehouseDetails: unknown[];
    }[];
    assert.equal(expanded[0]?.WarehouseDetails.length, 2);
    const mark = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    emu.data.touch("StockItem", "AC-0007", { Description: { value: "changed" } });
    const changed = (await call("GET", `/StockItem?$filter=LastModifiedDateTime gt datetimeoffset'${mark}'`))
      .body as { InventoryID: { value: string } }[];
    assert.deepEqual(
      changed.map((r) => r.InventoryID.value),
      ["AC-0007"],
    );
  });

  test("PUT upserts by key fields and the server computes order totals", async () => {
    const a = (
      await call("PUT", "/StockItem", { InventoryID: { value: "NEW-1" }, Description: { value: "A" } })
    ).body as { id: string };
    const b = (
      await call("PUT", "/StockItem", { InventoryID: { value: "NEW-1" }, Description: { value: "B" } })
    ).body as { id: string; Description: { value: string } };
    assert.equal(a.id, b.id);
    assert.equal(b.Description.value, "B");
    const customer = [...emu.data.tables.Customer.keys()][0] as string;
    const order = (
      await call("PUT", "/SalesOrder?$expand=Details", {
        CustomerID: { value: customer },
        OrderTotal: { value: 1 },
        Details: [{ InventoryID: { value: "AC-0001" }, OrderQty: { value: 3 }, UnitPrice: { value: 10 } }],
      })
    ).body as { OrderTotal: { value: number }; TaxTotal: { value: number } };
    assert.equal(order.OrderTotal.value, 36);
    assert.equal(order.TaxTotal.value, 6);
    const bad = await call("PUT", "/SalesOrder", {
      CustomerID: { value: customer },
      Details: [{ InventoryID: { value: "NOPE" }, OrderQty: { value: 1 } }],
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(emu.violations, []);
  });

  test("answers are checked too: a wrong shape or an undeclared status is a violation", () => {
    const op = { id: "StockItem_GetList", method: "GET", template: "/StockItem", params: {} };
    assert.deepEqual(emu.contract.checkResponse(op, 200, [{ InventoryID: { value: "A" } }]), []);
    assert.notDeepEqual(emu.contract.checkResponse(op, 200, [{ InventoryID: "A" }]), []);
    assert.notDeepEqual(emu.contract.checkResponse(op, 200, [{ Colour: { value: "red" } }]), []);
    assert.notDeepEqual(emu.contract.checkResponse(op, 404, { message: "x" }), []);
  });

  test("over the request limit a 429 with Retry-After", async () => {
    emu.setRateLimit({ requests: 2, windowMs: 60_000 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call("GET", "/StockItem?$top=1")).status);
    emu.setRateLimit(null);
    assert.deepEqual(statuses, [200, 200, 429]);
  });
});
