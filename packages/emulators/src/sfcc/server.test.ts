/**
 * The SFCC emulator's own tests: the SCAPI documents in front of it refuse what they do not allow, answers
 * are checked against them, and the rules behind them are B2C Commerce's (Account Manager tokens, the rate
 * limit, masters and variants, the customer search's searchable attributes, order status transitions,
 * order custom attributes). Driven over plain HTTP, never through the connector.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sfccContract, sfccSpecSkip } from "./contract.ts";
import { type SfccEmulator, startSfccEmulator } from "./server.ts";

describe("the SFCC emulator", { skip: sfccSpecSkip() }, () => {
  let emu: SfccEmulator;
  let token = "";
  const org = () => `/organizations/${emu.organizationId}`;
  const products = (rest: string) => `/product/products/v1${org()}${rest}`;
  const orders = (rest: string) => `/checkout/orders/v1${org()}${rest}`;

  async function getToken(id = emu.clientId, secret = emu.clientSecret, scope?: string) {
    const res = await fetch(`${emu.url}/dwsso/oauth2/access_token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        scope:
          scope ?? `SALESFORCE_COMMERCE_API:${emu.organizationId.replace("f_ecom_", "")} sfcc.products.rw`,
      }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function call(method: string, path: string, body?: unknown, bearer = token) {
    const res = await fetch(`${emu.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  }

  before(async () => {
    emu = await startSfccEmulator({ customers: 4, orderAttributes: ["c_tracking"] });
    token = String((await getToken()).body.access_token);
  });
  after(() => emu.close());

  test("the four documents are read, with every operation", () => {
    assert.ok(sfccContract().operationCount >= 90, `${sfccContract().operationCount} operations`);
  });

  test("Account Manager: wrong secret 401, missing tenant scope 400, no or expired token 401", async () => {
    assert.equal((await getToken(emu.clientId, "nope")).status, 401);
    assert.equal((await getToken(undefined, undefined, "sfcc.products.rw")).status, 400);
    assert.equal((await call("GET", products("/products/X"), undefined, "forged")).status, 401);
  });

  test("a request the documents do not allow is refused with a 400 and recorded", async () => {
    const before = emu.violations.length;
    const undeclared = await call("GET", orders(`/orders?siteId=${emu.siteId}&since=2020`));
    assert.equal(undeclared.status, 400);
    const missing = await call("GET", orders("/orders"));
    assert.equal(missing.status, 400);
    assert.match(String(missing.body?.detail), /siteId is required/);
    const tooMany = await call("GET", orders(`/orders?siteId=${emu.siteId}&limit=500`));
    assert.equal(tooMany.status, 400);
    const typed = await call("PUT", products("/products/P1"), { id: "P1", name: "P" });
    assert.equal(typed.status, 400, "a localized name is an object");
    const notCustom = await call("PATCH", orders(`/orders/00000000?siteId=${emu.siteId}`), {
      tracking: "1Z",
    });
    assert.equal(notCustom.status, 400, "an order attribute the document does not name must be c_…");
    const custom = await call("PUT", products("/products/P1"), {
      id: "P1",
      c_colour: "red",
      name: { default: "P" },
    });
    assert.equal(custom.status, 201);
    const recorded = emu.violations.slice(before).join("\n");
    for (const expected of [
      "since is not declared",
      "siteId is required",
      "limit must be <= 200",
      "name must be object",
      "(tracking)",
    ])
      assert.ok(recorded.includes(expected), `not recorded: ${expected}`);
    emu.violations.length = before;
  });

  test("masters and variants: values must exist, no two variants alike, read-only attributes refused", async () => {
    await call("PUT", products("/products/M1"), { id: "M1", name: { default: "Master" } });
    for (const v of ["M1-S", "M1-M", "M1-L"]) await call("PUT", products(`/products/${v}`), { id: v });
    const notMaster = await call("PUT", products("/products/M1/variations/M1-S"), {
      productId: "M1-S",
      variationValues: { size: "S" },
    });
    assert.equal(notMaster.status, 400);
    const attr = await call("PUT", products("/products/M1/variation-attributes/size"), {
      attributeDefinitionId: "size",
      values: [{ value: "S" }, { value: "M" }],
    });
    assert.equal(attr.status, 201);
    assert.equal(
      (
        await call("PUT", products("/products/M1/variations/M1-S"), {
          productId: "M1-S",
          variationValues: { size: "S" },
        })
      ).status,
      200,
    );
    assert.equal(
      (
        await call("PUT", products("/products/M1/variations/M1-L"), {
          productId: "M1-L",
          variationValues: { size: "L" },
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await call("PUT", products("/products/M1/variations/M1-M"), {
          productId: "M1-M",
          variationValues: { size: "S" },
        })
      ).status,
      400,
    );
    const read = await call("GET", products("/products/M1"));
    assert.deepEqual(read.body?.type, { master: true, variant: false, item: false });
    assert.equal((await call("PATCH", products("/products/M1"), { id: "M1", variants: [] })).status, 400);
  });

  test("customer search: only the documented attributes; offset, limit and total", async () => {
    const search = (body: unknown) =>
      call(
        "POST",
        `/customer/customers/v1${org()}/customer-lists/${emu.customerListId}/customer-search`,
        body,
      );
    const page = await search({ query: { matchAllQuery: {} }, offset: 1, limit: 2 });
    assert.equal(page.status, 200);
    assert.equal(((page.body?.hits ?? []) as unknown[]).length, 2);
    assert.equal(page.body?.total, 4);
    const byDate = await search({
      query: {
        filteredQuery: {
          query: { matchAllQuery: {} },
          filter: { rangeFilter: { field: "lastModified", from: "2020-01-01T00:00:00Z" } },
        },
      },
    });
    assert.equal(byDate.status, 400);
  });

  test("orders: status transitions, shipping status, defined custom attributes only", async () => {
    const no = [...emu.data.customerLists.get(emu.customerListId)!.keys()][0]!;
    const o = emu.data.placeOrder({ customerNo: no, lines: [{ productId: "M1-S", quantity: 1, price: 10 }] });
    const at = (rest: string) => orders(`/orders/${o.orderNo}${rest}?siteId=${emu.siteId}`);
    assert.equal((await call("PATCH", at(""), { c_tracking: "1Z" })).status, 204);
    assert.equal((await call("PATCH", at(""), { c_other: "x" })).status, 400);
    assert.equal((await call("PUT", at("/shipping-status"), { status: "shipped" })).status, 204);
    const refused = await call("PUT", at("/status"), { status: "cancelled" });
    assert.equal(refused.status, 409);
    assert.equal((await call("PUT", at("/status"), { status: "created" })).status, 409);
    assert.deepEqual(emu.violations, []);
  });

  test("over the rate limit: 429 with Retry-After", async () => {
    emu.setRateLimit({ requests: 2, windowMs: 60_000 });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await call("GET", products("/products/M1"))).status);
      assert.deepEqual(statuses, [200, 200, 429]);
      const limited = await call("GET", products("/products/M1"));
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    } finally {
      emu.setRateLimit(null);
    }
  });
});
