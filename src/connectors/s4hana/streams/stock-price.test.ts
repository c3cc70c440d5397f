/**
 * Stock and prices read from the emulator's material stock and pricing condition record services (held to
 * SAP's VDM packages): a storage location's lines folded into one level with only unrestricted-use stock
 * available and quantities rounded towards selling less; other companies' stock, plants not configured and
 * plant-level stock left out; prices valid today of the configured condition type and sales area, per
 * customer group, per one unit and rounded to the currency; what the canonical price cannot say a failed
 * record naming the field and the value, the rest of the page read.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { s4SpecSkip, startS4Emulator } from "@passerelle/emulators";
import type { S4Emulator } from "../../../../packages/emulators/src/s4hana/server.ts";
import { s4VdmSkip } from "../../../../packages/emulators/src/s4hana/vdm.ts";
import { SyncError } from "../../../core/errors.ts";
import { type InventoryLevel, SCHEMAS } from "../../../core/model.ts";
import { S4HanaClient } from "../client.ts";
import { S4HanaConfig } from "../config.ts";
import type { S4HanaContext } from "../context.ts";
import { type PriceRow, priceOf, priceStream } from "./price.ts";
import { type StockLevelRow, stockLevelOf, stockStream } from "./stock.ts";

const DAY = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

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

describe("S/4HANA stock and prices against the emulator", { skip: s4SpecSkip() || s4VdmSkip() }, () => {
  let emu: S4Emulator;
  let ctx: S4HanaContext;
  const ids: Record<string, string> = {};

  before(async () => {
    // No seeded products: every stock line and price here is the test's own.
    emu = await startS4Emulator({ products: 0, partners: 0, maxPageSize: 3 });
    const config = S4HanaConfig.parse({
      url: emu.url,
      username: emu.username,
      password: emu.password,
      holdDeliveryBlock: "ZH",
      stockPlants: ["1010"],
      priceCustomerGroups: { "01": "wholesale" },
      basePriceCustomerGroup: "retail",
    });
    ctx = { name: "erp", config, client: new S4HanaClient("erp", config) };
    const d = emu.data;
    for (const id of ["MAT-A", "MAT-B", "MAT-C", "MAT-D", "MAT-E"]) d.addProduct(id, id, 10);
    const s = emu.stockPricing;
    // MAT-A in 101A: 7.9 unrestricted in two batches, 2.6 in quality inspection, 1 blocked.
    s.setStock({ Material: "MAT-A", Batch: "B1" }, "5.400");
    s.setStock({ Material: "MAT-A", Batch: "B2" }, "2.500");
    s.setStock({ Material: "MAT-A", InventoryStockType: "02" }, "2.600");
    s.setStock({ Material: "MAT-A", InventoryStockType: "07" }, "1");
    // MAT-A in 101B: only quality inspection: on hand, nothing available.
    s.setStock({ Material: "MAT-A", StorageLocation: "101B", InventoryStockType: "02" }, "3");
    // MAT-B: 0.9 unrestricted: nothing whole to sell.
    s.setStock({ Material: "MAT-B" }, "0.900");
    // Left out: consignment stock (special stock K), another plant, plant-level stock in transfer.
    s.setStock({ Material: "MAT-C", InventorySpecialStockType: "K" }, "50");
    s.setStock({ Material: "MAT-C", Plant: "1710" }, "40");
    s.setStock({ Material: "MAT-C", StorageLocation: "", InventoryStockType: "05" }, "30");
    // Enough levels for several server pages (3 lines a page): MAT-D in 4 storage locations.
    for (const sl of ["D1", "D2", "D3", "D4"]) s.setStock({ Material: "MAT-D", StorageLocation: sl }, "1");

    const today = Date.now();
    const add = (key: string, c: Parameters<typeof s.addCondition>[0]) => {
      ids[key] = String(s.addCondition({ validFrom: "2025-01-01", ...c }).ConditionRecord);
    };
    add("base", { Material: "MAT-A", ConditionRateValue: "19.990" });
    add("group", { Material: "MAT-A", CustomerGroup: "01", ConditionRateValue: "17.995" });
    add("group2", { Material: "MAT-B", CustomerGroup: "02", ConditionRateValue: "8.004" });
    add("per100", { Material: "MAT-B", ConditionRateValue: "1234.567", ConditionQuantity: "100" });
    add("plt", {
      Material: "MAT-C",
      PriceListType: "02",
      ConditionRateValue: "2.000",
      ConditionRateValueUnit: "JPY",
    });
    add("percent", {
      Material: "MAT-D",
      ConditionRateValue: "5.000",
      ConditionRateValueUnit: "%",
      ConditionCalculationType: "A",
    });
    add("kg", { Material: "MAT-E", ConditionRateValue: "3.000", ConditionQuantityUnit: "KG" });
    // Not read: another condition type, another sales organization, one customer's price, deleted,
    // expired, not yet valid.
    add("k007", { Material: "MAT-E", ConditionType: "K007", ConditionRateValue: "1" });
    add("org", { Material: "MAT-E", SalesOrganization: "1710", ConditionRateValue: "1" });
    add("customer", { Material: "MAT-E", Customer: "1000100", ConditionRateValue: "1" });
    add("deleted", { Material: "MAT-C", ConditionRateValue: "1", ConditionIsDeleted: true });
    add("expired", { Material: "MAT-D", ConditionRateValue: "1", validTo: isoDay(today - DAY) });
    add("future", { Material: "MAT-D", ConditionRateValue: "1", validFrom: isoDay(today + 2 * DAY) });
  });
  after(() => emu?.close());

  test("stock: one level per storage location, only unrestricted use available, rounded down", async () => {
    const stream = stockStream(ctx);
    const rows = await readAll(stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 2 }));
    const levels = new Map(
      rows.map((r) => {
        const l = SCHEMAS.inventory.parse(stream.toCanonical(r)) as InventoryLevel;
        return [l.key, l];
      }),
    );
    assert.deepEqual(
      [...levels.keys()],
      [
        "MAT-A@1010/101A",
        "MAT-A@1010/101B",
        "MAT-B@1010/101A",
        "MAT-D@1010/D1",
        "MAT-D@1010/D2",
        "MAT-D@1010/D3",
        "MAT-D@1010/D4",
      ],
      "lines of one storage location folded across pages; MAT-C's consignment, plant 1710 and in-transfer stock left out",
    );
    const a = levels.get("MAT-A@1010/101A");
    // 5.4 + 2.5 + 2.6 + 1 = 11.5 on hand → 11; unrestricted 7.9 → 7 available.
    assert.deepEqual([a?.onHand, a?.reserved, a?.available], [11, 4, 7]);
    const qi = levels.get("MAT-A@1010/101B");
    assert.deepEqual([qi?.onHand, qi?.available], [3, 0], "stock in quality inspection is not for sale");
    const b = levels.get("MAT-B@1010/101A");
    assert.deepEqual([b?.onHand, b?.available], [0, 0], "0.9 of a piece is not one to sell");
    const ids = rows.map((r) => stream.idOf(r));
    assert.equal(new Set(ids).size, ids.length, "no level read twice");
    for (const r of rows) assert.equal(stream.updatedAtOf(r), rows[0]?.at, "a snapshot: one stamp");

    const one = await stream.get("MAT-A@1010/101A");
    assert.ok(one);
    assert.equal(one.lines.length, 4);
    assert.equal(await stream.get("MAT-C@1710/101A"), null, "a plant not configured");
    assert.equal(await stream.get("MAT-Z@1010/101A"), null);
    assert.equal(await stream.get("no-location"), null);
    assert.deepEqual(emu.violations, []);
  });

  test("stock: a negative quantity rounds down, an unreadable one fails the level naming the value", () => {
    const level = (lines: Record<string, unknown>[]): StockLevelRow => ({
      sku: "MAT-N",
      plant: "1010",
      storageLocation: "101A",
      lines,
      at: "2026-06-01T00:00:00.000Z",
    });
    const neg = stockLevelOf(
      ctx,
      level([{ InventoryStockType: "01", MatlWrhsStkQtyInMatlBaseUnit: "-1.500" }]),
    );
    assert.equal(neg.onHand, -2);
    assert.equal(SCHEMAS.inventory.parse(neg).available, 0);
    failsOn(
      () => stockLevelOf(ctx, level([{ InventoryStockType: "01", MatlWrhsStkQtyInMatlBaseUnit: "12 PC" }])),
      "MatlWrhsStkQtyInMatlBaseUnit",
      '"12 PC"',
    );
  });

  test("prices: valid today, per customer group, per one unit, rounded to the currency", async () => {
    const stream = priceStream(ctx);
    const rows = await readAll(stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 2 }));
    const got = rows.map((r) => stream.idOf(r));
    const want = ["base", "group", "group2", "per100", "plt", "percent", "kg"].map((k) => ids[k]);
    assert.deepEqual(
      got,
      want,
      "other types, areas, one customer's, deleted, expired and future records left out",
    );
    const byId = new Map(rows.map((r) => [stream.idOf(r), r]));
    const price = (k: string) => stream.toCanonical(byId.get(ids[k] as string) as PriceRow);

    const base = SCHEMAS.price.parse(price("base"));
    assert.equal(base.key, "base-price-eur:MAT-A");
    assert.deepEqual(base.priceList, {
      code: "base-price-eur",
      name: "Base price EUR",
      customerGroup: "retail",
      currency: "EUR",
    });
    assert.equal(base.price, "19.99");
    assert.equal(base.validFrom, "2025-01-01");
    assert.equal(base.validTo, undefined, "an open end (9999-12-31) is no end");
    const group = SCHEMAS.price.parse(price("group"));
    assert.equal(group.priceList.customerGroup, "wholesale");
    assert.equal(group.key, "customer-group-01-eur:MAT-A");
    assert.equal(group.price, "18.00", "17.995 rounds half away from zero to the cent");
    const group2 = SCHEMAS.price.parse(price("group2"));
    assert.equal(
      group2.priceList.customerGroup,
      "customer-group-02",
      "a group not configured keeps its code",
    );
    assert.equal(group2.price, "8.00");
    assert.equal(
      SCHEMAS.price.parse(price("per100")).price,
      "12.35",
      "1234.567 per 100 pieces is 12.34567 each",
    );
    const plt = SCHEMAS.price.parse(price("plt"));
    assert.equal(plt.priceList.customerGroup, "price-list-type-02");
    assert.equal(plt.price, "2", "yen have no minor unit");

    failsOn(() => price("percent"), "ConditionCalculationType", '"A"');
    failsOn(() => price("kg"), "ConditionQuantityUnit", '"KG"');

    assert.equal((await stream.get(ids.group as string))?.ConditionRecord, ids.group);
    assert.equal(await stream.get(ids.expired as string), null, "not valid today");
    assert.equal(await stream.get(ids.deleted as string), null, "deleted");
    assert.equal(await stream.get("9999999999"), null);
    assert.deepEqual(emu.violations, []);
  });

  test("prices: a rate, quantity or currency the canonical price cannot hold fails naming field and value", () => {
    const row = (rec: Record<string, unknown>, over: Record<string, unknown> = {}): PriceRow => ({
      ConditionRecord: "0000000042",
      Material: "MAT-A",
      CustomerGroup: "",
      PriceListType: "",
      ConditionValidityStartDate: "/Date(1735689600000)/",
      ConditionValidityEndDate: "/Date(253402214400000)/",
      to_SlsPrcgConditionRecord: {
        ConditionCalculationType: "C",
        ConditionRateValue: "10.000",
        ConditionRateValueUnit: "EUR",
        ConditionQuantity: "1",
        ConditionQuantityUnit: "PC",
        ...rec,
      },
      at: "2026-06-01T00:00:00.000Z",
      ...over,
    });
    assert.equal(priceOf(ctx, row({})).price, "10.00");
    failsOn(() => priceOf(ctx, row({ ConditionRateValueUnit: "%" })), "ConditionRateValueUnit", '"%"');
    failsOn(() => priceOf(ctx, row({ ConditionQuantity: "0" })), "ConditionQuantity", '"0"');
    failsOn(() => priceOf(ctx, row({ ConditionRateValue: "-1.000" })), "ConditionRateValue", '"-1.000"');
    failsOn(() => priceOf(ctx, row({}, { Material: "" })), "Material", '""');
    failsOn(
      () => priceOf(ctx, row({}, { to_SlsPrcgConditionRecord: null })),
      "to_SlsPrcgConditionRecord",
      "null",
    );
  });
});

test("the stock and price settings: emulator-ready defaults, and a wrong one names its field", () => {
  const base = { url: "http://127.0.0.1:9", username: "U", password: "pw", holdDeliveryBlock: "ZH" };
  const c = S4HanaConfig.parse(base);
  assert.deepEqual(
    [c.stockPlants, c.salesPriceCondition, c.priceUnit, c.priceCustomerGroups, c.basePriceCustomerGroup],
    [["1010"], "PPR0", "PC", {}, "default"],
  );
  const bad = S4HanaConfig.safeParse({
    ...base,
    stockPlants: ["10100"],
    salesPriceCondition: "ppr0",
    priceCustomerGroups: { "001": "wholesale" },
  });
  assert.equal(bad.success, false);
  const paths = (bad.error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);
  assert.ok(
    paths.some((p) => /^stockPlants\.0: must be a plant/.test(p)),
    paths.join("; "),
  );
  assert.ok(
    paths.some((p) => /^salesPriceCondition: must be a condition type/.test(p)),
    paths.join("; "),
  );
  assert.ok(
    paths.some((p) => /^priceCustomerGroups\.001: must be a customer group/.test(p)),
    paths.join("; "),
  );
  assert.equal(S4HanaConfig.safeParse({ ...base, stockPlants: [] }).success, false, "no plant, no stock");
});
