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
