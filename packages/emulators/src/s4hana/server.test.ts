/**
 * The S/4HANA emulator against its own rules: the EDMX checks refuse and record what the documents do not
 * allow, the CSRF rule refuses changes without the session's token, collections page with __next, and deep
 * inserts answer what the server computed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { s4Service, s4SpecSkip } from "./metadata.ts";
import { type S4Emulator, startS4Emulator } from "./server.ts";

const SO = "/sap/opu/odata/sap/API_SALES_ORDER_SRV";
const BP = "/sap/opu/odata/sap/API_BUSINESS_PARTNER";
const PR = "/sap/opu/odata/sap/API_PRODUCT_SRV";

describe("the S/4HANA emulator", { skip: s4SpecSkip() }, () => {
  let emu: S4Emulator;
  let auth: string;
  before(async () => {
    emu = await startS4Emulator({ products: 9, partners: 2, seed: 3, maxPageSize: 4 });
    auth = `Basic ${Buffer.from(`${emu.username}:${emu.password}`).toString("base64")}`;
  });
  after(() => emu.close());

  const call = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ) =>
    fetch(`${emu.url}${path}`, {
      method: init.method ?? "GET",
      headers: { authorization: auth, accept: "application/json", ...init.headers },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });

  /** A session cookie and its CSRF token. */
  async function session(): Promise<{ cookie: string; token: string }> {
    const res = await call(`${SO}/`, { headers: { "x-csrf-token": "Fetch" } });
    assert.equal(res.status, 200);
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    return { cookie, token: res.headers.get("x-csrf-token") as string };
  }

  test("the EDMX documents parse into their sets, keys, annotations and associations", () => {
    const so = s4Service("API_SALES_ORDER_SRV");
    const order = so.typeOfSet("A_SalesOrder");
    assert.deepEqual(order?.key, ["SalesOrder"]);
    assert.equal(order?.properties.get("TotalNetAmount")?.creatable, false);
    assert.equal(order?.navigation.get("to_Item")?.many, true);
    assert.equal(so.sets.get("A_SalesOrderItemPrElement")?.creatable, false);
    const bp = s4Service("API_BUSINESS_PARTNER");
    assert.equal(bp.sets.get("A_Customer")?.creatable, false);
    assert.equal(bp.typeOfSet("A_BusinessPartner")?.navigation.get("to_Customer")?.many, false);
  });

  test("wrong credentials are refused with 401", async () => {
    const res = await fetch(`${emu.url}${PR}/A_Product`, {
      headers: { authorization: `Basic ${Buffer.from("x:y").toString("base64")}` },
    });
    assert.equal(res.status, 401);
  });

  test("collections page on the server with __next and count with $inlinecount", async () => {
    const res = await call(`${PR}/A_Product?$top=7&$inlinecount=allpages&$orderby=Product&$select=Product`);
    const body = (await res.json()) as {
      d: { results: { Product: string }[]; __next?: string; __count?: string };
    };
    assert.equal(body.d.__count, "9");
    assert.equal(body.d.results.length, 4);
    assert.ok(body.d.__next?.includes("$skiptoken=4"));
    const next = await call(
      new URL(body.d.__next as string).pathname + new URL(body.d.__next as string).search,
    );
    const rest = (await next.json()) as { d: { results: unknown[]; __next?: string } };
    assert.equal(rest.d.results.length, 3, "the rest of the $top window");
    assert.equal(rest.d.__next, undefined);
  });

  test("a change without the session's CSRF token is refused with 403, with one it is served", async () => {
    const before = emu.violations.length;
    const body = { FirstName: "No", LastName: "Token", BusinessPartnerCategory: "1" };
    const refused = await call(`${BP}/A_BusinessPartner`, { method: "POST", body });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get("x-csrf-token"), "Required");
    assert.match(await refused.text(), /CSRF token validation failed/);
    const { cookie, token } = await session();
    const ok = await call(`${BP}/A_BusinessPartner`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": token, "content-type": "application/json" },
      body: {
        ...body,
        to_BusinessPartnerRole: [{ BusinessPartnerRole: "FLCU01" }],
        to_BusinessPartnerAddress: [
          { CityName: "Walldorf", Country: "DE", to_EmailAddress: [{ EmailAddress: "t@example.com" }] },
        ],
      },
    });
    assert.equal(ok.status, 201, await ok.clone().text());
    const created = (await ok.json()) as { d: { BusinessPartner: string; Customer: string } };
    assert.equal(created.d.Customer, created.d.BusinessPartner, "a customer role makes a customer");
    emu.expireCsrfTokens();
    const stale = await call(`${BP}/A_BusinessPartner('${created.d.BusinessPartner}')`, {
      method: "PATCH",
      headers: { cookie, "x-csrf-token": token },
      body: { LastName: "Again" },
    });
    assert.equal(stale.status, 403, "an expired token is refused");
    assert.equal(
      emu.violations.length,
      before,
      "a CSRF refusal is the protocol, not a breach of the document",
    );
  });

  test("what the documents do not allow is refused and recorded", async () => {
    const { cookie, token } = await session();
    const h = { cookie, "x-csrf-token": token };
    const cases: [string, { method?: string; body?: unknown }, RegExp][] = [
      [`${PR}/A_Product?$filter=NoSuchField eq 'x'`, {}, /has no property NoSuchField/],
      [`${PR}/A_Product?$expand=to_Nothing`, {}, /no navigation property to_Nothing/],
      [`${PR}/A_Product?$orderby=Product sideways`, {}, /\$orderby/],
      [`${PR}/A_Product?$filter=GrossWeight gt 1`, {}, /Edm.Decimal/],
      [`${PR}/A_Product?$filter=LastChangeDateTime ge datetime'2026-01-01T00:00:00'`, {}, /wrong literal/],
      [`${SO}/A_SalesOrder('1','2')`, {}, /not a key field|key/],
      [
        `${SO}/A_SalesOrder`,
        { method: "POST", body: { SoldToParty: "1", TotalNetAmount: "1.00" } },
        /TotalNetAmount: sap:creatable="false"/,
      ],
      [`${SO}/A_SalesOrder`, { method: "POST", body: { SoldToParty: 17 } }, /must be Edm.String/],
      [
        `${SO}/A_SalesOrder`,
        { method: "POST", body: { to_Item: [{ RequestedQuantity: 2 }] } },
        /RequestedQuantity must be Edm.Decimal/,
      ],
      [
        `${SO}/A_SalesOrder`,
        { method: "POST", body: { CustomerPurchaseOrderDate: "2026-01-01" } },
        /Edm.DateTime/,
      ],
      [
        `${SO}/A_SalesOrder`,
        { method: "POST", body: { PurchaseOrderByCustomer: "x".repeat(36) } },
        /MaxLength 35/,
      ],
      [
        `${SO}/A_SalesOrderItemPrElement`,
        { method: "POST", body: { ConditionType: "PR00" } },
        /sap:creatable="false"/,
      ],
      [`${SO}/A_SalesOrder('1')`, { method: "PATCH", body: { SalesOrder: "2" } }, /a key field/],
      [`${BP}/A_Customer('1')`, { method: "PATCH", body: { CustomerName: "x" } }, /sap:updatable="false"/],
    ];
    for (const [path, init, why] of cases) {
      const before = emu.violations.length;
      const res = await call(path, { ...init, headers: h });
      assert.equal(res.status, 400, `${path}: ${res.status}`);
      assert.ok(emu.violations.length > before, `${path}: not recorded`);
      assert.match(emu.violations.slice(before).join("\n"), why, path);
    }
    emu.violations.length = 0;
  });

  test("a deep insert of a sales order answers the server's numbers and totals", async () => {
    const { cookie, token } = await session();
    const partner = [...emu.data.partners.keys()][0] as string;
    const res = await call(`${SO}/A_SalesOrder`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": token },
      body: {
        SoldToParty: partner,
        PurchaseOrderByCustomer: "shop:1",
        CustomerPurchaseOrderDate: "/Date(1780272000000)/",
        TransactionCurrency: "EUR",
        to_Item: [
          {
            Material: "TG0001",
            RequestedQuantity: "2",
            to_PricingElement: [
              { ConditionType: "PR00", ConditionRateValue: "10.00", ConditionCurrency: "EUR" },
              { ConditionType: "RB00", ConditionRateValue: "-1.50", ConditionCurrency: "EUR" },
            ],
          },
        ],
        to_PricingElement: [{ ConditionType: "HD00", ConditionRateValue: "4.90", ConditionCurrency: "EUR" }],
      },
    });
    assert.equal(res.status, 201, await res.clone().text());
    const body = (await res.json()) as {
      d: {
        SalesOrder: string;
        TotalNetAmount: string;
        to_Item: { results: { SalesOrderItem: string; NetAmount: string }[] };
      };
    };
    assert.equal(body.d.TotalNetAmount, "23.40");
    assert.equal(body.d.to_Item.results[0]?.SalesOrderItem, "000010");
    assert.equal(body.d.to_Item.results[0]?.NetAmount, "18.50");
    assert.deepEqual(emu.violations, []);
  });
});
