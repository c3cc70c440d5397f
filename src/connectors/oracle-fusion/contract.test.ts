/**
 * The shared connector contract, run against the Oracle Fusion emulator (fixture in
 * test/fixtures/oracle-fusion-contract.ts, given here the price lists to read and price hooks); the emulator
 * refuses any request the SCM collections do not define, and the last test requires that none was refused.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fusionSpecSkip } from "@passerelle/emulators";
import {
  type FusionContractFixture,
  fusionContractFixture,
} from "../../../test/fixtures/oracle-fusion-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { FusionConfig } from "./config.ts";
import { oracleFusion } from "./index.ts";

let serial = 0;

/** The shared fixture, its connections reading the emulator's retail and wholesale lists. */
async function withPrices(): Promise<FusionContractFixture> {
  const fx = await fusionContractFixture();
  const { emu } = fx;
  const pl = emu.data.priceLists;
  const lists = {
    basePriceList: `Retail ${emu.currency}`,
    priceLists: [{ name: `Retail ${emu.currency}` }, { name: `Wholesale ${emu.currency}` }],
  };
  const priced = (c: FusionConfig) => FusionConfig.parse({ ...c, ...lists });
  return {
    ...fx,
    config: priced(fx.config),
    badCredentials: priced(fx.badCredentials),
    unreachable: priced(fx.unreachable),
    async insert(entity) {
      if (entity !== "price") return fx.insert?.(entity) ?? Promise.reject(new Error("no insert"));
      serial += 1;
      const item = emu.data.addItem(`FG7${String(serial).padStart(3, "0")}`, `Priced ${serial}`, "12.40");
      const row = pl.items.find((r) => r.ItemId === item.ItemId && r.PriceListId === pl.base);
      assert.ok(row, "the new item has no base list row");
      return `${pl.base}-${String(row.PriceListItemId)}`;
    },
    async touch(entity, id) {
      if (entity !== "price") return fx.touch?.(entity, id);
      pl.touchItem(Number(id.split("-")[1]));
    },
  };
}

describe("the Oracle Fusion connector under the contract suite", { skip: fusionSpecSkip() }, () => {
  let fixture: FusionContractFixture | undefined;
  runContractSuite(oracleFusion, async () => {
    fixture = await withPrices();
    return fixture;
  });

  test("no request of the contract run broke the SCM collections", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    const ops = [...fixture.emu.checked.keys()];
    for (const op of [
      "GET /priceLists",
      "GET /priceLists/:PriceListId",
      "GET /priceLists/:PriceListId/child/items",
      "GET /priceLists/:PriceListId/child/items/:PriceListItemId",
      "GET /priceLists/:PriceListId/child/items/:PriceListItemId/child/charges",
    ])
      assert.ok(ops.includes(op), `the price read never exercised ${op}`);
    assert.ok(fixture.emu.checked.size >= 11, `only ${fixture.emu.checked.size} operations exercised`);
    console.log(
      `# oracle-fusion contract: ${fixture.emu.checked.size} distinct operations checked against the SCM collections: ${ops.sort().join(", ")}`,
    );
  });
});
