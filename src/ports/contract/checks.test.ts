import assert from "node:assert/strict";
import { test } from "node:test";
import { oracleFusion } from "../../connectors/oracle-fusion/index.ts";
import { contractChecks, harness, skipReason } from "./checks.ts";
import type { ContractFixture } from "./fixture.ts";

const fixture = (skip: Record<string, string>) => ({ config: {}, skip }) as unknown as ContractFixture;

test("skipping an entity skips its fault checks too", () => {
  const faults = contractChecks(oracleFusion).find((c) => c.id === "price.faults");
  assert.ok(faults, "oracle-fusion reads price, so the suite has price.faults");
  assert.match(skipReason(faults, fixture({ price: "no price lists here" })) ?? "", /^price: /);
  assert.equal(skipReason(faults, fixture({ product: "other entity" })), undefined);
});

test("a read-only entity's faults may be skipped alone: the skip is declared", async () => {
  const declared = contractChecks(oracleFusion).find((c) => c.id === "declared");
  assert.ok(declared);
  const fx = fixture({ "price.faults": "this fixture cannot inject faults on price lists" });
  await declared.run(harness(oracleFusion, { ...fx, config: oracleFusionConfig }));
  await assert.rejects(
    declared.run(
      harness(oracleFusion, {
        ...fixture({ "order.faults": "x", "shipment.faults": "y" }),
        config: oracleFusionConfig,
      }),
    ),
    /skips shipment\.faults, which oracle-fusion does not declare/,
  );
});

const oracleFusionConfig = oracleFusion.configSchema.parse({
  baseUrl: "https://example.invalid",
  username: "u",
  password: "p",
  businessUnitId: 1,
  currency: "USD",
  orderSource: "PASSERELLE",
  uomCode: "Ea",
  holdCode: "H",
});
