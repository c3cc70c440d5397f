/**
 * SAP's own published clients of the material stock and sales pricing condition record services (the VDM
 * packages `@sap/cloud-sdk-vdm-material-stock-service` and `@sap/cloud-sdk-vdm-sales-pricing-condition-record-
 * service` 2.1.0, the same files vdm.ts reads the contract from) drive the emulator: code nobody here wrote
 * builds the requests (filters, keys, $select with expanded navigation) and reads the answers, and nothing it
 * sends or gets back breaks the packages. As in test/emulators/s4hana-cloud-sdk.test.ts, the SDK 2 generated
 * code runs on the repository's SDK 4 runtime with its one rename (`_defaultServicePath` read as
 * `_defaultBasePath`).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { s4SpecSkip } from "./metadata.ts";
import { type S4Emulator, startS4Emulator } from "./server.ts";
import { readTgz, type S4VdmServiceName, s4VdmPath, s4VdmSkip } from "./vdm.ts";

const ROOT = join(import.meta.dirname, "../../../..");

// biome-ignore lint/suspicious/noExplicitAny: the published clients come without types this project reads.
type Generated = any;

describe("SAP's published clients of the material stock and pricing services, against the emulator", {
  skip: s4SpecSkip() || s4VdmSkip(),
}, () => {
  let emu: S4Emulator;
  let stock: Generated;
  let pricing: Generated;
  // Inside the repository, so the published code finds @sap-cloud-sdk/odata-v2 in its node_modules.
  const output = join(ROOT, "node_modules/.cache", `s4hana-vdm-stock-${process.pid}`);
  const send = (builder: Generated) =>
    builder.execute({ url: emu.url, username: emu.username, password: emu.password });

  before(async () => {
    const load = (service: S4VdmServiceName) => {
      const dir = join(output, service);
      for (const [path, text] of readTgz(readFileSync(s4VdmPath(service)))) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const mod = createRequire(import.meta.url)(join(dir, "index.js")) as Record<string, Generated>;
      for (const v of Object.values(mod))
        if (typeof v === "function" && typeof v._defaultServicePath === "string")
          v._defaultBasePath = v._defaultServicePath;
      return mod;
    };
    stock = (load("API_MATERIAL_STOCK_SRV").materialStockService as Generated)();
    pricing = (load("API_SLSPRICINGCONDITIONRECORD_SRV").salesPricingConditionRecordService as Generated)();
    emu = await startS4Emulator({ products: 4, partners: 0, seed: 2 });
  });
  after(async () => {
    await emu?.close();
    rmSync(output, { recursive: true, force: true });
  });

  test("they read stock lines filtered, and a material's stock by key with its lines", async () => {
    const { matlStkInAcctModApi: lines, materialStockApi: material } = stock;
    const s = lines.schema;
    const unrestricted = await send(
      lines
        .requestBuilder()
        .getAll()
        .filter(s.PLANT.equals("1010"), s.INVENTORY_STOCK_TYPE.equals("01"))
        .select(s.MATERIAL, s.STORAGE_LOCATION, s.MATL_WRHS_STK_QTY_IN_MATL_BASE_UNIT),
    );
    // 4 products in 101A, the fourth also in 101B.
    assert.equal(unrestricted.length, 5);
    assert.equal(unrestricted[0].material, "TG0001");
    assert.equal(
      unrestricted[0].matlWrhsStkQtyInMatlBaseUnit.toString(),
      "6",
      "an Edm.Decimal the SDK reads",
    );
    const m = material.schema;
    const one = await send(
      material.requestBuilder().getByKey("TG0003").select(m.MATERIAL, m.TO_MATL_STK_IN_ACCT_MOD),
    );
    assert.deepEqual(
      one.toMatlStkInAcctMod.map((l: Generated) => l.inventoryStockType).sort(),
      ["01", "02"],
      "the third product has stock in quality inspection too",
    );
  });

  test("they read condition record validities with their record expanded, and a record by key", async () => {
    const { slsPrcgCndnRecdValidityApi: v, slsPrcgConditionRecordApi: r } = pricing;
    const prices = await send(
      v
        .requestBuilder()
        .getAll()
        .filter(v.schema.CONDITION_TYPE.equals("PPR0"), v.schema.MATERIAL.equals("TG0002"))
        .select(v.schema.CONDITION_RECORD, v.schema.CUSTOMER_GROUP, v.schema.TO_SLS_PRCG_CONDITION_RECORD),
    );
    assert.deepEqual(prices.map((p: Generated) => p.customerGroup).sort(), ["", "01"]);
    const base = prices.find((p: Generated) => p.customerGroup === "");
    assert.equal(
      Number(base.toSlsPrcgConditionRecord.conditionRateValue.toString()),
      emu.data.listPrices.get("TG0002"),
    );
    assert.equal(base.toSlsPrcgConditionRecord.conditionRateValueUnit, "EUR");
    const rec = await send(r.requestBuilder().getByKey(base.conditionRecord));
    assert.equal(rec.conditionType, "PPR0");
    assert.equal(rec.conditionIsDeleted, false);
    assert.ok(rec.conditionValidityEndDate, "an Edm.DateTime the SDK reads");

    assert.deepEqual(emu.violations, []);
    const ops = [...emu.checked.keys()].sort();
    console.log(
      `# s4hana cloud sdk (VDM stock, pricing): ${ops.length} operations checked: ${ops.join(", ")}`,
    );
  });
});
