/**
 * Quantity breaks from S/4HANA pricing scales: a from-scale by quantity, in the unit prices are for, becomes
 * the price's tier breaks (the line holding at one unit the base price, each line from two units on a
 * break, per one unit and rounded to the currency), read with the records in one call per page; any other
 * scale — by value or weight, a to-scale, fractional or repeated quantities, another unit or currency, a
 * scale starting above one unit — a failed record naming the field and the value.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { s4SpecSkip, startS4Emulator } from "@passerelle/emulators";
import type { S4Emulator } from "../../../../packages/emulators/src/s4hana/server.ts";
import { s4VdmSkip } from "../../../../packages/emulators/src/s4hana/vdm.ts";
import { SyncError } from "../../../core/errors.ts";
import { SCHEMAS } from "../../../core/model.ts";
import { S4HanaClient } from "../client.ts";
import { S4HanaConfig } from "../config.ts";
import type { S4HanaContext } from "../context.ts";
import { type PriceRow, priceOf, priceStream } from "./price.ts";

async function readAll<T>(list: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of list) out.push(...page);
  return out;
}

const failsOn = (fn: () => unknown, field: string, value: string) =>
  assert.throws(
    fn,
    (e: unknown) =>
      e instanceof SyncError &&
      e.kind === "data" &&
      e.details.field === field &&
      e.message.includes(value) &&
      e.message.includes(field),
  );

const config = (url: string, username = "U", password = "pw") =>
  S4HanaConfig.parse({
    url,
    username,
    password,
    holdDeliveryBlock: "ZH",
    priceCustomerGroups: { "01": "wholesale" },
    basePriceCustomerGroup: "retail",
  });

describe("S/4HANA price scales against the emulator", { skip: s4SpecSkip() || s4VdmSkip() }, () => {
  let emu: S4Emulator;
  let ctx: S4HanaContext;
  const ids: Record<string, string> = {};

  before(async () => {
    emu = await startS4Emulator({ products: 0, partners: 0, maxPageSize: 3 });
    const c = config(emu.url, emu.username, emu.password);
    ctx = { name: "erp", config: c, client: new S4HanaClient("erp", c) };
    for (const id of ["MAT-A", "MAT-B", "MAT-C", "MAT-D", "MAT-E"]) emu.data.addProduct(id, id, 10);
    const s = emu.stockPricing;
    const add = (key: string, c: Parameters<typeof s.addCondition>[0]) => {
      ids[key] = String(s.addCondition({ validFrom: "2025-01-01", ...c }).ConditionRecord);
    };
    add("tiered", {
      Material: "MAT-A",
      CustomerGroup: "01",
      scale: {
        lines: [
          { from: "1", rate: "12" },
          { from: "10", rate: "9.5" },
          { from: "100", rate: "8.255" },
        ],
      },
    });
    add("plain", { Material: "MAT-A", ConditionRateValue: "13.000" });
    add("per100", {
      Material: "MAT-B",
      ConditionQuantity: "100",
      scale: {
        lines: [
          { from: "0", rate: "1234.567" },
          { from: "50", rate: "1100" },
        ],
      },
    });
    add("value", {
      Material: "MAT-C",
      scale: {
        basis: "B",
        lines: [
          { from: "0", rate: "5" },
          { from: "500", rate: "4.5" },
        ],
      },
    });
    add("to", {
      Material: "MAT-C",
      CustomerGroup: "01",
      scale: {
        type: "B",
        lines: [
          { from: "10", rate: "5" },
          { from: "100", rate: "4.5" },
        ],
      },
    });
    add("fraction", {
      Material: "MAT-D",
      scale: {
        lines: [
          { from: "1", rate: "5" },
          { from: "2.5", rate: "4" },
        ],
      },
    });
    add("kg", {
      Material: "MAT-D",
      CustomerGroup: "01",
      scale: {
        unit: "KG",
        lines: [
          { from: "1", rate: "5" },
          { from: "20", rate: "4" },
        ],
      },
    });
    add("late", { Material: "MAT-E", scale: { lines: [{ from: "5", rate: "9" }] } });
  });
  after(() => emu?.close());

  test("a quantity from-scale becomes tier breaks, read with the records in one call per page", async () => {
    const stream = priceStream(ctx);
    const before = emu.requests.length;
    const rows = await readAll(stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 3 }));
    const calls = emu.requests.slice(before).filter((r) => r.method === "GET");
    assert.equal(rows.length, 8);
    assert.equal(calls.length, 3, "8 records, 3 a page: 3 calls, none per record");
    for (const c of calls) {
      assert.match(c.path, /\/A_SlsPrcgCndnRecdValidity\?/);
      assert.match(
        decodeURIComponent(c.path),
        /\$expand=to_SlsPrcgConditionRecord,to_SlsPrcgConditionRecord\/to_SlsPrcgCndnRecordScale/,
      );
    }
    const byId = new Map(rows.map((r) => [stream.idOf(r), r]));
    const price = (k: string) => stream.toCanonical(byId.get(ids[k] as string) as PriceRow);

    const tiered = SCHEMAS.price.parse(price("tiered"));
    assert.equal(tiered.key, "customer-group-01-eur:MAT-A");
    assert.equal(tiered.price, "12.00", "the line at one unit is the base price");
    assert.deepEqual(tiered.tiers, [
      { minQuantity: 10, price: "9.50" },
      { minQuantity: 100, price: "8.26" },
    ]);
    assert.deepEqual(SCHEMAS.price.parse(price("plain")).tiers, [], "no scale, no breaks");
    const per100 = SCHEMAS.price.parse(price("per100"));
    assert.equal(per100.price, "12.35", "1234.567 per 100 pieces is 12.34567 each");
    assert.deepEqual(per100.tiers, [{ minQuantity: 50, price: "11.00" }], "a break priced per one unit too");

    failsOn(() => price("value"), "PricingScaleBasis", '"B"');
    failsOn(() => price("to"), "PricingScaleType", '"B"');
    failsOn(() => price("fraction"), "ConditionScaleQuantity", '"2.500"');
    failsOn(() => price("kg"), "ConditionScaleQuantityUnit", '"KG"');
    failsOn(() => price("late"), "ConditionScaleQuantity", '"5.000"');

    const one = await stream.get(ids.tiered as string);
    assert.ok(one);
    assert.deepEqual(SCHEMAS.price.parse(stream.toCanonical(one)).tiers.length, 2, "get reads the scale too");
    assert.deepEqual(emu.violations, []);
  });
});

describe("S/4HANA price scales: what a tier break cannot say fails naming field and value", () => {
  const ctx: S4HanaContext = (() => {
    const c = config("http://127.0.0.1:9");
    return { name: "erp", config: c, client: new S4HanaClient("erp", c) };
  })();
  const line = (n: number, quantity: string, rate: string, over: Record<string, unknown> = {}) => ({
    ConditionSequentialNumber: "01",
    ConditionScaleLine: String(n).padStart(4, "0"),
    ConditionScaleQuantity: quantity,
    ConditionScaleQuantityUnit: "PC",
    ConditionRateValue: rate,
    ConditionRateValueUnit: "EUR",
    ...over,
  });
  const row = (lines: Record<string, unknown>[], rec: Record<string, unknown> = {}): PriceRow => ({
    ConditionRecord: "0000000042",
    Material: "MAT-A",
    CustomerGroup: "",
    PriceListType: "",
    ConditionValidityStartDate: "/Date(1735689600000)/",
    ConditionValidityEndDate: "/Date(253402214400000)/",
    to_SlsPrcgConditionRecord: {
      ConditionSequentialNumber: "01",
      ConditionCalculationType: "C",
      ConditionRateValue: "10.000",
      ConditionRateValueUnit: "EUR",
      ConditionQuantity: "1",
      ConditionQuantityUnit: "PC",
      PricingScaleBasis: "C",
      PricingScaleType: "A",
      to_SlsPrcgCndnRecordScale: { results: lines },
      ...rec,
    },
    at: "2026-06-01T00:00:00.000Z",
  });
  const tiers = (r: PriceRow) => {
    const p = priceOf(ctx, r);
    return [p.price, p.tiers.map((t) => `${t.minQuantity}@${t.price}`).join(" ")];
  };

  test("lines read in quantity order; the line holding at one unit is the base price", () => {
    assert.deepEqual(
      tiers(row([line(3, "50.000", "7.000"), line(1, "1.000", "10.000"), line(2, "10.000", "8.000")])),
      ["10.00", "10@8.00 50@7.00"],
    );
    assert.deepEqual(
      tiers(row([line(1, "0.000", "11.000"), line(2, "1.000", "10.000"), line(3, "5.000", "9.000")])),
      ["10.00", "5@9.00"],
      "lines at 0 and 1: one unit costs the line at 1",
    );
    assert.deepEqual(
      tiers(
        row([line(1, "1.000", "10.000"), line(2, "10.000", "8.000", { ConditionSequentialNumber: "02" })]),
      ),
      ["10.00", ""],
      "another sequential number's line is another condition's",
    );
    assert.deepEqual(
      tiers(row([line(1, "0.000", "10.000")], { PricingScaleBasis: "", PricingScaleType: "" })),
      ["10.00", ""],
      "no scale basis and nothing above one unit: no breaks, the rate",
    );
    assert.deepEqual(tiers(row([])), ["10.00", ""], "no lines");
  });

  test("a scale other than a whole-unit quantity from-scale fails", () => {
    const ok = [line(1, "1.000", "10.000"), line(2, "10.000", "8.000")];
    failsOn(() => priceOf(ctx, row(ok, { PricingScaleBasis: "D" })), "PricingScaleBasis", '"D"');
    failsOn(() => priceOf(ctx, row(ok, { PricingScaleBasis: "B" })), "PricingScaleBasis", '"B"');
    failsOn(
      () => priceOf(ctx, row(ok, { PricingScaleBasis: "", PricingScaleType: "" })),
      "PricingScaleBasis",
      '""',
    );
    failsOn(() => priceOf(ctx, row(ok, { PricingScaleType: "B" })), "PricingScaleType", '"B"');
    failsOn(() => priceOf(ctx, row(ok, { PricingScaleType: "D" })), "PricingScaleType", '"D"');
    failsOn(
      () => priceOf(ctx, row([line(1, "1.000", "10.000"), line(2, "10.500", "8.000")])),
      "ConditionScaleQuantity",
      '"10.500"',
    );
    failsOn(
      () =>
        priceOf(
          ctx,
          row([
            line(1, "1.000", "10.000"),
            line(2, "10.000", "8.000", { ConditionScaleQuantityUnit: "BOX" }),
          ]),
        ),
      "ConditionScaleQuantityUnit",
      '"BOX"',
    );
    failsOn(
      () =>
        priceOf(
          ctx,
          row([line(1, "1.000", "10.000"), line(2, "10.000", "8.000", { ConditionRateValueUnit: "USD" })]),
        ),
      "ConditionRateValueUnit",
      '"USD"',
    );
    failsOn(
      () => priceOf(ctx, row([line(1, "1.000", "10.000"), line(2, "10.000", "-8.000")])),
      "ConditionRateValue",
      '"-8.000"',
    );
    failsOn(
      () => priceOf(ctx, row([line(1, "1.000", "10.000"), line(2, "ten", "8.000")])),
      "ConditionScaleQuantity",
      '"ten"',
    );
    failsOn(
      () =>
        priceOf(
          ctx,
          row([line(1, "1.000", "10.000"), line(2, "10.000", "8.000"), line(3, "10.000", "7.000")]),
        ),
      "ConditionScaleQuantity",
      '"10.000"',
    );
    failsOn(
      () => priceOf(ctx, row([line(1, "2.000", "10.000"), line(2, "10.000", "8.000")])),
      "ConditionScaleQuantity",
      '"2.000"',
    );
  });
});
