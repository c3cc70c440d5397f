/**
 * Scales of the emulated sales pricing condition records (A_SlsPrcgCndnRecordScale), held to SAP's VDM
 * package: lines entered with a record are served under to_SlsPrcgCndnRecordScale, through `$expand` from the
 * validity and through the navigation, each answer checked against the contract; the record says the scale's
 * basis and type and shows the first line's rate; what the maintenance screen refuses is refused.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { S4Error } from "./data.ts";
import { s4SpecSkip } from "./metadata.ts";
import { type S4Emulator, startS4Emulator } from "./server.ts";
import { s4VdmService, s4VdmSkip } from "./vdm.ts";

const PR = "/sap/opu/odata/sap/API_SLSPRICINGCONDITIONRECORD_SRV";
type Page = { results: Record<string, unknown>[] };

describe("the S/4HANA emulator's pricing scales", { skip: s4SpecSkip() || s4VdmSkip() }, () => {
  let emu: S4Emulator;
  let auth: string;
  before(async () => {
    emu = await startS4Emulator({ products: 0, partners: 0 });
    auth = `Basic ${Buffer.from(`${emu.username}:${emu.password}`).toString("base64")}`;
    for (const id of ["MAT-S", "MAT-V"]) emu.data.addProduct(id, id, 10);
  });
  after(() => emu?.close());
  const get = async (path: string) => {
    const res = await fetch(`${emu.url}${path}`, {
      headers: { authorization: auth, accept: "application/json" },
    });
    return { status: res.status, body: (await res.json()) as { d: Record<string, unknown> } };
  };
  const refused = (fn: () => unknown, message: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof S4Error && e.status === 400 && message.test(e.message));

  test("the contract: the scale entity, its key and the navigation from the record", () => {
    const pr = s4VdmService("API_SLSPRICINGCONDITIONRECORD_SRV");
    const scale = pr.typeOfSet("A_SlsPrcgCndnRecordScale");
    assert.ok(scale);
    assert.deepEqual(scale.key, ["ConditionRecord", "ConditionSequentialNumber", "ConditionScaleLine"]);
    assert.equal(scale.properties.get("ConditionScaleQuantity")?.type, "Edm.Decimal");
    assert.equal(scale.properties.get("ConditionScaleQuantityUnit")?.maxLength, 3);
    assert.equal(scale.properties.get("ConditionRateValue")?.type, "Edm.Decimal");
    assert.deepEqual(pr.typeOfSet("A_SlsPrcgConditionRecord")?.navigation.get("to_SlsPrcgCndnRecordScale"), {
      name: "to_SlsPrcgCndnRecordScale",
      target: "API_SLSPRICINGCONDITIONRECORD_SRV.A_SlsPrcgCndnRecordScale",
      many: true,
    });
  });

  test("a quantity scale: served through $expand and the navigation, the record showing its first line", async () => {
    const rec = emu.stockPricing.addCondition({
      Material: "MAT-S",
      CustomerGroup: "01",
      scale: {
        lines: [
          { from: "1", rate: "12" },
          { from: "10", rate: "9.5" },
          { from: "100", rate: "8.25" },
        ],
      },
    });
    const id = String(rec.ConditionRecord);
    assert.equal(rec.ConditionRateValue, "12.000", "the record's rate is the first line's");
    assert.deepEqual(
      [rec.PricingScaleBasis, rec.PricingScaleType, rec.ConditionScaleQuantityUnit],
      ["C", "A", "PC"],
      "a quantity scale (C) from each threshold on (A), in the condition's unit",
    );
    const res = await get(
      `${PR}/A_SlsPrcgCndnRecdValidity?$filter=Material eq 'MAT-S'&$expand=to_SlsPrcgConditionRecord/to_SlsPrcgCndnRecordScale&$select=ConditionRecord,to_SlsPrcgConditionRecord/PricingScaleType,to_SlsPrcgConditionRecord/to_SlsPrcgCndnRecordScale/ConditionScaleLine,to_SlsPrcgConditionRecord/to_SlsPrcgCndnRecordScale/ConditionScaleQuantity,to_SlsPrcgConditionRecord/to_SlsPrcgCndnRecordScale/ConditionScaleQuantityUnit,to_SlsPrcgConditionRecord/to_SlsPrcgCndnRecordScale/ConditionRateValue,to_SlsPrcgConditionRecord/to_SlsPrcgCndnRecordScale/ConditionRateValueUnit`,
    );
    assert.equal(res.status, 200);
    const [row] = (res.body.d as Page).results;
    const record = row?.to_SlsPrcgConditionRecord as Record<string, unknown>;
    assert.equal(record.PricingScaleType, "A");
    const lines = (record.to_SlsPrcgCndnRecordScale as Page).results;
    assert.deepEqual(
      lines.map((l) => [
        l.ConditionScaleLine,
        l.ConditionScaleQuantity,
        l.ConditionScaleQuantityUnit,
        l.ConditionRateValue,
        l.ConditionRateValueUnit,
      ]),
      [
        ["0001", "1.000", "PC", "12.000", "EUR"],
        ["0002", "10.000", "PC", "9.500", "EUR"],
        ["0003", "100.000", "PC", "8.250", "EUR"],
      ],
    );
    assert.match(
      String((lines[1]?.__metadata as { uri?: string } | undefined)?.uri),
      new RegExp(
        `A_SlsPrcgCndnRecordScale\\(ConditionRecord='${id}',ConditionSequentialNumber='01',ConditionScaleLine='0002'\\)`,
      ),
      "each line keyed as the CSN keys it",
    );

    const nav = await get(`${PR}/A_SlsPrcgConditionRecord('${id}')/to_SlsPrcgCndnRecordScale`);
    assert.equal(nav.status, 200);
    const all = (nav.body.d as Page).results;
    assert.equal(all.length, 3);
    assert.deepEqual(
      [all[2]?.ConditionScaleAmount, all[2]?.ConditionScaleAmountCurrency],
      ["0.000", ""],
      "a quantity scale holds no amounts",
    );
    assert.deepEqual(emu.violations, [], "every answer as the package declares it");

    emu.stockPricing.changeRate(id, "11.5");
    assert.equal(
      emu.stockPricing.scaleLines().find((l) => l.ConditionRecord === id)?.ConditionRateValue,
      "11.500",
    );
  });

  test("a record without a scale has no lines; a value scale holds amounts in its currency", async () => {
    const plain = emu.stockPricing.addCondition({ Material: "MAT-V", ConditionRateValue: "5" });
    const res = await get(
      `${PR}/A_SlsPrcgConditionRecord('${plain.ConditionRecord}')?$expand=to_SlsPrcgCndnRecordScale`,
    );
    assert.deepEqual((res.body.d.to_SlsPrcgCndnRecordScale as Page).results, []);
    assert.deepEqual([res.body.d.PricingScaleBasis, res.body.d.PricingScaleType], ["", ""]);

    const value = emu.stockPricing.addCondition({
      Material: "MAT-V",
      PriceListType: "02",
      ConditionRateValue: "5",
      scale: {
        basis: "B",
        lines: [
          { from: "0", rate: "5" },
          { from: "500", rate: "4.5" },
        ],
      },
    });
    const lines = emu.stockPricing.scaleLines().filter((l) => l.ConditionRecord === value.ConditionRecord);
    assert.deepEqual(
      lines.map((l) => [l.ConditionScaleAmount, l.ConditionScaleAmountCurrency, l.ConditionScaleQuantity]),
      [
        ["0.000", "EUR", "0.000"],
        ["500.000", "EUR", "0.000"],
      ],
    );
    assert.equal(value.ConditionScaleAmountCurrency, "EUR");
    assert.equal(value.ConditionScaleQuantityUnit, "");
    assert.deepEqual(emu.violations, []);
  });

  test("what the maintenance screen refuses is refused", () => {
    const s = emu.stockPricing;
    const add = (scale: Parameters<typeof s.addCondition>[0]["scale"], rate?: string) =>
      s.addCondition({ Material: "MAT-S", ...(rate ? { ConditionRateValue: rate } : {}), scale });
    const count = s.records.size;
    refused(() => add({ lines: [] }), /1 to 9999 lines/);
    refused(
      () =>
        add({
          lines: [
            { from: "10", rate: "9" },
            { from: "10", rate: "8" },
          ],
        }),
      /scale line 2: 10 does not ascend from 10/,
    );
    refused(() => add({ lines: [{ from: "1.0005", rate: "9" }] }), /"1.0005" is not a scale threshold/);
    refused(() => add({ lines: [{ from: "-1", rate: "9" }] }), /"-1" is not a scale threshold/);
    refused(() => add({ lines: [{ from: "1", rate: "nine" }] }), /scale line 1: "nine" is not a rate/);
    refused(() => add({ basis: "Q", lines: [{ from: "1", rate: "9" }] }), /PricingScaleBasis "Q"/);
    refused(() => add({ type: "Z", lines: [{ from: "1", rate: "9" }] }), /PricingScaleType "Z"/);
    refused(() => add({ lines: [{ from: "1", rate: "9" }] }, "8"), /not the scale's first rate "9.000"/);
    refused(
      () =>
        s.addCondition({
          Material: "MAT-S",
          ConditionRateValueUnit: "%",
          ConditionCalculationType: "A",
          scale: { basis: "B", lines: [{ from: "0", rate: "-2" }] },
        }),
      /a value scale's amounts need a currency, not "%"/,
    );
    refused(() => s.addCondition({ Material: "MAT-S" }), /needs a rate/);
    assert.equal(s.records.size, count, "nothing refused was kept");
  });
});
