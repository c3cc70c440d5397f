/**
 * The delivery and billing services as SAP's VDM packages describe them, and the emulator held to that: the
 * EDM types come from the generated code, the structure from the CSN, and a package whose two descriptions
 * disagree is refused; the emulator refuses what the packages do not declare (a property, a function's
 * method or parameter) and records it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { s4SpecSkip } from "./metadata.ts";
import { type S4Emulator, startS4Emulator } from "./server.ts";
import { readTgz, s4VdmPath, s4VdmService, s4VdmSkip, vdmServiceFrom } from "./vdm.ts";

const OD = "/sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV";
const BD = "/sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV";

describe("SAP's VDM packages of the delivery and billing services", {
  skip: s4SpecSkip() || s4VdmSkip(),
}, () => {
  test("the contract: sets, keys, EDM types, navigation and GetPDF", () => {
    const od = s4VdmService("API_OUTBOUND_DELIVERY_SRV");
    assert.equal(od.servicePath, "/sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV");
    const header = od.typeOfSet("A_OutbDeliveryHeader");
    assert.ok(header);
    assert.deepEqual(header.key, ["DeliveryDocument"]);
    assert.equal(header.properties.get("LastChangeDate")?.type, "Edm.DateTime");
    assert.equal(header.properties.get("BillOfLading")?.maxLength, 35);
    assert.equal(header.properties.get("Shippinglocationtimezone")?.nullable, false);
    assert.equal(header.properties.has("TrackingNumber"), false, "the service has no tracking-number field");
    assert.deepEqual(header.navigation.get("to_DeliveryDocumentItem"), {
      name: "to_DeliveryDocumentItem",
      target: "API_OUTBOUND_DELIVERY_SRV.A_OutbDeliveryItem",
      many: true,
    });
    assert.deepEqual(od.typeOfSet("A_OutbDeliveryItem")?.key, ["DeliveryDocument", "DeliveryDocumentItem"]);

    const bd = s4VdmService("API_BILLING_DOCUMENT_SRV");
    const doc = bd.typeOfSet("A_BillingDocument");
    assert.equal(doc?.properties.get("LastChangeDateTime")?.type, "Edm.DateTimeOffset");
    assert.equal(doc?.properties.get("TotalNetAmount")?.type, "Edm.Decimal");
    assert.equal(doc?.properties.get("PurchaseOrderByCustomer")?.maxLength, 35);
    const pdf = bd.functions.get("GetPDF");
    assert.equal(pdf?.method, "GET");
    assert.deepEqual([...(pdf?.parameters ?? [])], [["BillingDocument", "Edm.String"]]);
    assert.equal(pdf?.returns.name, "API_BILLING_DOCUMENT_SRV.GetPDFResult");
    assert.equal(pdf?.returns.properties.get("BillingDocumentBinary")?.type, "Edm.String");
    assert.equal(bd.functions.get("Cancel")?.method, "POST");
  });

  test("a package whose CSN and generated code disagree is refused", () => {
    const files = readTgz(readFileSync(s4VdmPath("API_BILLING_DOCUMENT_SRV")));
    const api = files.get("BillingDocumentApi.js") as string;
    files.set("BillingDocumentApi.js", api.replace(/buildEdmTypeField\('TaxAmount'[^)]*\)/, "undefined"));
    assert.throws(
      () => vdmServiceFrom("API_BILLING_DOCUMENT_SRV", files),
      /A_BillingDocument\.TaxAmount is in the CSN but not in the generated A_BillingDocumentApi/,
    );
  });
});

describe("the S/4HANA emulator's delivery and billing services", {
  skip: s4SpecSkip() || s4VdmSkip(),
}, () => {
  let emu: S4Emulator;
  let auth: string;
  let billing = "";
  before(async () => {
    emu = await startS4Emulator({ products: 3, partners: 1, seed: 5 });
    auth = `Basic ${Buffer.from(`${emu.username}:${emu.password}`).toString("base64")}`;
    const partner = [...emu.data.partners.keys()][0] as string;
    const order = emu.data.addOrder({
      SoldToParty: partner,
      PurchaseOrderByCustomer: "shop:1",
      TransactionCurrency: "EUR",
      to_Item: [{ Material: "TG0001", RequestedQuantity: "2" }],
    });
    const d = emu.documents.deliver(String(order.SalesOrder));
    emu.documents.postGoodsIssue(String(d.DeliveryDocument));
    billing = String(emu.documents.bill(String(d.DeliveryDocument)).BillingDocument);
  });
  after(() => emu.close());

  const get = (path: string, method = "GET") =>
    fetch(`${emu.url}${path}`, { method, headers: { authorization: auth, accept: "application/json" } });

  test("reads answer in the packages' shapes, with the items expanded", async () => {
    const res = await get(
      `${OD}/A_OutbDeliveryHeader?$expand=to_DeliveryDocumentItem&$filter=OverallGoodsMovementStatus eq 'C'`,
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { d: { results: Record<string, unknown>[] } };
    assert.equal(body.d.results.length, 1);
    const header = body.d.results[0] ?? {};
    const items = (header.to_DeliveryDocumentItem as { results: Record<string, unknown>[] }).results;
    assert.equal(items[0]?.ReferenceSDDocumentCategory, "C");
    assert.equal(items[0]?.ActualDeliveryQuantity, "2.000");
    const bd = await get(`${BD}/A_BillingDocument('${billing}')?$expand=to_Item`);
    assert.equal(bd.status, 200);
    assert.deepEqual(emu.violations, []);
  });

  test("what the packages do not declare is refused and recorded", async () => {
    const before = emu.violations.length;
    assert.equal((await get(`${OD}/A_OutbDeliveryHeader?$filter=TrackingNumber ne ''`)).status, 400);
    assert.equal(
      (await get(`${BD}/GetPDF?BillingDocument='${billing}'`, "POST")).status,
      403,
      "a POST needs a CSRF token",
    );
    assert.equal((await get(`${BD}/GetPDF`)).status, 400);
    assert.equal((await get(`${BD}/GetPDF?BillingDocument=${billing}`)).status, 400, "an unquoted literal");
    assert.equal((await get(`${BD}/GetPDF?BillingDocument='${billing}'&Format='A4'`)).status, 400);
    assert.equal(emu.violations.length - before, 4);
    assert.match(emu.violations.join("\n"), /has no property TrackingNumber/);
    assert.match(emu.violations.join("\n"), /GetPDF needs the parameter BillingDocument/);
    emu.violations.length = before;
  });

  test("GetPDF renders a billing document as a base64 PDF under the function's name", async () => {
    const res = await get(`${BD}/GetPDF?BillingDocument='${billing}'`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { d: { GetPDF: { BillingDocumentBinary: string } } };
    assert.equal(
      Buffer.from(body.d.GetPDF.BillingDocumentBinary, "base64").subarray(0, 5).toString(),
      "%PDF-",
    );
    assert.equal((await get(`${BD}/GetPDF?BillingDocument='99999999'`)).status, 404);
    assert.deepEqual(emu.violations, []);
  });

  test("a delivery is made only from an order that is not blocked", () => {
    const partner = [...emu.data.partners.keys()][0] as string;
    const held = emu.data.addOrder({
      SoldToParty: partner,
      PurchaseOrderByCustomer: "shop:2",
      DeliveryBlockReason: "ZH",
      to_Item: [{ Material: "TG0002", RequestedQuantity: "1" }],
    });
    assert.throws(() => emu.documents.deliver(String(held.SalesOrder)), /blocked for delivery \(ZH\)/);
  });
});

describe("SAP's VDM packages of the material stock and sales pricing condition record services", {
  skip: s4SpecSkip() || s4VdmSkip(),
}, () => {
  test("the contract: sets, keys, EDM types, lengths and navigation as the packages declare them", () => {
    const ms = s4VdmService("API_MATERIAL_STOCK_SRV");
    assert.equal(ms.servicePath, "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV");
    assert.deepEqual([...ms.sets.keys()].sort(), ["A_MaterialStock", "A_MatlStkInAcctMod"]);
    const line = ms.typeOfSet("A_MatlStkInAcctMod");
    assert.deepEqual(line?.key, [
      "Material",
      "Plant",
      "StorageLocation",
      "Batch",
      "Supplier",
      "Customer",
      "WBSElementInternalID",
      "SDDocument",
      "SDDocumentItem",
      "InventorySpecialStockType",
      "InventoryStockType",
    ]);
    assert.equal(line?.properties.get("MatlWrhsStkQtyInMatlBaseUnit")?.type, "Edm.Decimal");
    assert.equal(line?.properties.get("StorageLocation")?.maxLength, 4);
    assert.equal(line?.properties.get("InventoryStockType")?.maxLength, 2);
    assert.equal(line?.properties.has("AvailableQuantity"), false, "the service computes no availability");
    assert.deepEqual(ms.typeOfSet("A_MaterialStock")?.navigation.get("to_MatlStkInAcctMod"), {
      name: "to_MatlStkInAcctMod",
      target: "API_MATERIAL_STOCK_SRV.A_MatlStkInAcctMod",
      many: true,
    });
    assert.equal(ms.functions.size, 0);

    const pr = s4VdmService("API_SLSPRICINGCONDITIONRECORD_SRV");
    const validity = pr.typeOfSet("A_SlsPrcgCndnRecdValidity");
    assert.deepEqual(validity?.key, ["ConditionRecord", "ConditionValidityEndDate"]);
    assert.equal(validity?.properties.get("ConditionValidityEndDate")?.type, "Edm.DateTime");
    assert.equal(validity?.properties.get("CustomerGroup")?.maxLength, 2);
    assert.equal(validity?.properties.get("PriceListType")?.maxLength, 2);
    assert.equal(validity?.properties.get("Material")?.maxLength, 40);
    assert.equal(validity?.properties.has("ConditionRateValue"), false, "the rate is the record's");
    assert.deepEqual(validity?.navigation.get("to_SlsPrcgConditionRecord"), {
      name: "to_SlsPrcgConditionRecord",
      target: "API_SLSPRICINGCONDITIONRECORD_SRV.A_SlsPrcgConditionRecord",
      many: false,
    });
    const record = pr.typeOfSet("A_SlsPrcgConditionRecord");
    assert.deepEqual(record?.key, ["ConditionRecord"]);
    assert.equal(record?.properties.get("ConditionRateValue")?.type, "Edm.Decimal");
    assert.equal(record?.properties.get("ConditionRateValueUnit")?.maxLength, 5);
    assert.equal(record?.properties.get("ConditionIsDeleted")?.type, "Edm.Boolean");
    assert.equal(
      record?.properties.has("LastChangeDateTime"),
      false,
      "condition records carry no change stamp",
    );
  });
});

describe("the S/4HANA emulator's material stock and pricing condition record services", {
  skip: s4SpecSkip() || s4VdmSkip(),
}, () => {
  const MS = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV";
  const PR = "/sap/opu/odata/sap/API_SLSPRICINGCONDITIONRECORD_SRV";
  let emu: S4Emulator;
  let auth: string;
  before(async () => {
    emu = await startS4Emulator({ products: 8, partners: 0, seed: 3, maxPageSize: 5 });
    auth = `Basic ${Buffer.from(`${emu.username}:${emu.password}`).toString("base64")}`;
  });
  after(() => emu.close());
  const get = async (path: string) => {
    const res = await fetch(`${emu.url}${path}`, {
      headers: { authorization: auth, accept: "application/json" },
    });
    return { status: res.status, body: (await res.json()) as { d: Record<string, unknown> } };
  };
  type Page = { results: Record<string, unknown>[]; __next?: string; __count?: string };

  test("stock is seeded per product and filtered and paged as the other sets are", async () => {
    const lines = emu.stockPricing.stockLines();
    // 8 products: one unrestricted line each, quality inspection for 3 and 6, a second location for 4 and 8.
    assert.equal(lines.length, 8 + 2 + 2);
    assert.deepEqual(
      new Set(lines.map((l) => l.Material)),
      new Set(emu.data.products.keys()),
      "the same materials as the product seed",
    );
    const first = await get(
      `${MS}/A_MatlStkInAcctMod?$filter=Plant eq '1010' and InventoryStockType eq '01'&$inlinecount=allpages&$orderby=Material asc,StorageLocation asc`,
    );
    assert.equal(first.status, 200);
    const page = first.body.d as Page;
    assert.equal(page.__count, "10");
    assert.equal(page.results.length, 5, "the server's page");
    assert.match(String(page.__next), /\$skiptoken=5/);
    assert.equal(page.results[0]?.MatlWrhsStkQtyInMatlBaseUnit, "6.000");
    const next = await get(String(page.__next).replace(emu.url, ""));
    assert.equal((next.body.d as Page).results.length, 5);
    const tg4 = await get(`${MS}/A_MaterialStock('TG0004')?$expand=to_MatlStkInAcctMod`);
    const held = (tg4.body.d.to_MatlStkInAcctMod as Page).results;
    assert.deepEqual(held.map((l) => l.StorageLocation).sort(), ["101A", "101B"]);
    assert.deepEqual(emu.violations, []);
  });

  test("prices: one base PPR0 record per product at its list price, every second also for customer group 01", async () => {
    const res = await get(
      `${PR}/A_SlsPrcgCndnRecdValidity?$filter=ConditionType eq 'PPR0' and Material eq 'TG0002'&$expand=to_SlsPrcgConditionRecord&$orderby=ConditionRecord asc`,
    );
    assert.equal(res.status, 200);
    const rows = (res.body.d as Page).results;
    assert.deepEqual(
      rows.map((r) => r.CustomerGroup),
      ["", "01"],
    );
    const list = String(emu.data.listPrices.get("TG0002"));
    const rate = (r: Record<string, unknown>) =>
      (r.to_SlsPrcgConditionRecord as Record<string, unknown>).ConditionRateValue;
    assert.equal(Number(rate(rows[0] ?? {})), Number(list));
    assert.ok(Number(rate(rows[1] ?? {})) < Number(list));
    assert.match(
      String((rows[0]?.__metadata as { uri?: string } | undefined)?.uri),
      /ConditionValidityEndDate=datetime'9999-12-31T00%3A00%3A00'/,
    );
    const today = new Date().toISOString().slice(0, 10);
    const valid = await get(
      `${PR}/A_SlsPrcgCndnRecdValidity?$filter=ConditionValidityStartDate le datetime'${today}T00:00:00' and ConditionValidityEndDate ge datetime'${today}T00:00:00'&$inlinecount=allpages&$top=1`,
    );
    assert.equal((valid.body.d as Page).__count, "12", "8 base prices and 4 customer-group prices");
    assert.deepEqual(emu.violations, []);
  });

  test("what the packages do not declare is refused and recorded; the sets are read only", async () => {
    const before = emu.violations.length;
    assert.equal((await get(`${MS}/A_MatlStkInAcctMod?$filter=AvailableQuantity gt 0`)).status, 400);
    assert.equal((await get(`${PR}/A_SlsPrcgCndnRecdValidity?$filter=ConditionRateValue gt 0`)).status, 400);
    assert.equal(
      (
        await get(
          `${PR}/A_SlsPrcgCndnRecdValidity?$filter=ConditionValidityEndDate ge datetimeoffset'2026-01-01T00:00:00Z'`,
        )
      ).status,
      400,
      "an Edm.DateTime compared to a datetimeoffset literal",
    );
    assert.equal(emu.violations.length - before, 3);
    assert.match(emu.violations.join("\n"), /no property AvailableQuantity/);
    // A change, with a valid CSRF token and session: refused all the same, the sets are not creatable.
    const head = await fetch(`${emu.url}${MS}/A_MaterialStock`, {
      headers: { authorization: auth, accept: "application/json", "x-csrf-token": "Fetch" },
    });
    const res = await fetch(`${emu.url}${MS}/A_MaterialStock`, {
      method: "POST",
      headers: {
        authorization: auth,
        "content-type": "application/json",
        "x-csrf-token": String(head.headers.get("x-csrf-token")),
        cookie: String(head.headers.get("set-cookie")).split(";")[0] as string,
      },
      body: JSON.stringify({ Material: "TG0001", MaterialBaseUnit: "PC" }),
    });
    assert.equal(res.status, 400);
    assert.match(emu.violations.slice(before).join("\n"), /A_MaterialStock is sap:creatable="false"/);
    emu.violations.length = before;
  });
});
