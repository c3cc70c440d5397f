/**
 * The shared connector contract, run against the NetSuite emulator (fixture in test/fixtures/netsuite-contract.ts,
 * completed here for the reads of item fulfilments, invoices, stock per location and prices per price level). The emulator holds every
 * request to the documented shapes (test/fixtures/netsuite/record-shapes.json with the SuiteQL tables of
 * packages/emulators/src/netsuite/suiteql-tables.ts; no vendor file exists for NetSuite) and the last test
 * requires that none broke them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NetSuiteEmulator } from "@passerelle/emulators";
import {
  type NetSuiteContractFixture,
  netsuiteContractFixture,
} from "../../../test/fixtures/netsuite-contract.ts";
import type { EntityName } from "../../core/model.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { netsuite } from "./index.ts";

type Row = Record<string, unknown>;

/**
 * A sales order as the order writer leaves it (the shop order's key in otherRefNum), put straight into the
 * emulator's store: the contract's own order writes do not need to run first.
 */
function seedOrder(emu: NetSuiteEmulator, serial: number): string {
  const orders = emu.records.get("salesOrder") as Map<string, Row>;
  const items = [...(emu.records.get("inventoryItem") as Map<string, Row>).keys()];
  const customers = [...(emu.records.get("customer") as Map<string, Row>).keys()];
  const id = String(700000 + serial);
  orders.set(id, {
    id,
    tranId: `SO-C${serial}`,
    entity: { id: customers[serial % customers.length] },
    otherRefNum: `shop:NS-C${serial}`,
    orderStatus: "B",
    tranDate: "2026-06-01",
    currency: { id: "2" },
    item: {
      items: [
        { item: { id: items[serial % items.length] }, quantity: 2, rate: 10, amount: 20 },
        { item: { id: items[(serial + 1) % items.length] }, quantity: 1, rate: 5.5, amount: 5.5 },
      ],
    },
    subtotal: 25.5,
    taxTotal: 5.1,
    total: 30.6,
  });
  emu.touch("salesOrder", id);
  return id;
}

async function withDocuments(): Promise<NetSuiteContractFixture> {
  const fx = await netsuiteContractFixture();
  const { emu } = fx;
  let serial = 0;
  const shipped = () => {
    serial += 1;
    const so = seedOrder(emu, serial);
    return { so, fulfilment: String(emu.fulfil(so, { tracking: [`1Z-C${serial}`] }).id) };
  };
  const invoiced = () => String(emu.invoice(shipped().so).id);
  for (let i = 0; i < 8; i++) invoiced();
  // Not the connector's: a fulfilment and an invoice of an order without otherRefNum are never listed.
  const foreign = seedOrder(emu, 999);
  emu.touch("salesOrder", foreign, { otherRefNum: null });
  emu.fulfil(foreign, { tracking: ["FOREIGN-1"] });
  emu.invoice(foreign);
  const main = emu.locations.get("1")?.name as string;
  const { insert, touch } = fx;
  return {
    ...fx,
    // The seeded Wholesale level (pricelevel 2) as the price list of the "trade" customer group.
    config: { ...fx.config, priceLevels: [{ name: "Wholesale", customerGroup: "trade" }] },
    skip: {
      ...fx.skip,
      "inventory.touch": "stock is a snapshot (no modification date on inventoryitemlocations)",
    },
    async insert(entity: EntityName) {
      if (entity === "shipment") return shipped().fulfilment;
      if (entity === "invoice") return invoiced();
      if (entity === "price") {
        const id = await (insert as NonNullable<typeof insert>)("product");
        emu.setPrice(id, "2", "2", 9.5);
        return `${id}-2-2`;
      }
      if (entity === "inventory") {
        const id = await (insert as NonNullable<typeof insert>)("product");
        emu.setStock(id, "1", 7, 2);
        const sku = (emu.records.get("inventoryItem") as Map<string, Row>).get(id)?.itemId;
        return `${String(sku)}@${main}`;
      }
      return (insert as NonNullable<typeof insert>)(entity);
    },
    async touch(entity: EntityName, id: string) {
      if (entity === "shipment") return emu.touch("itemFulfillment", id);
      if (entity === "invoice") return emu.touch("invoice", id);
      return (touch as NonNullable<typeof touch>)(entity, id);
    },
  };
}

describe("the NetSuite connector under the contract suite", () => {
  let fixture: NetSuiteContractFixture | undefined;
  runContractSuite(netsuite, async () => {
    fixture = await withDocuments();
    return fixture;
  });

  test("no request of the contract run broke the documented NetSuite shapes", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    assert.ok(fixture.emu.checked.size >= 6, `only ${fixture.emu.checked.size} operations exercised`);
    for (const table of [
      "transactionline",
      "trackingnumbermap",
      "trackingnumber",
      "inventoryitemlocations",
      "currency",
      "location",
      "pricing",
      "pricelevel",
    ])
      assert.ok(
        fixture.emu.checked.has(`POST suiteql ${table}`),
        `the contract run never read SuiteQL ${table}`,
      );
    console.log(
      `# netsuite contract: ${fixture.emu.checked.size} distinct operations checked against the documented shapes: ${[...fixture.emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
