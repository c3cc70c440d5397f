/**
 * The contract suite every connector runs against its emulator (and, where one runs here, the real
 * system). A connector's `contract.test.ts` is one call:
 *
 *   runContractSuite(odoo, async () => ({ config, badCredentials, unreachable, samples, writes, ... }));
 *
 * The checks derive from the definition (contract/checks.ts): for every entity it declares, the read steps
 * (contract/read-checks.ts), the write steps (contract/write-checks.ts) and fault handling. The fixture
 * says why it cannot exercise something (`skip`); those checks are reported as skipped with the reason,
 * never passed silently.
 */
import { after, before, describe, test } from "node:test";
import type { z } from "zod";
import type { ConnectorDefinition } from "./connector.ts";
import { contractChecks, harness, skipReason } from "./contract/checks.ts";
import { type ContractFixture, type Harness, SkipCheck } from "./contract/fixture.ts";

export type { CheckResult, ContractCheck } from "./contract/checks.ts";
export { contractChecks, runChecks } from "./contract/checks.ts";
export type { ContractFixture, SkipKey } from "./contract/fixture.ts";

export function runContractSuite<C extends z.ZodType>(
  definition: ConnectorDefinition<C>,
  setup: () => Promise<ContractFixture<z.infer<C>>>,
  name = definition.id,
): void {
  describe(`connector contract: ${name}`, () => {
    let fx: ContractFixture | undefined;
    let h: Harness | undefined;
    before(async () => {
      fx = await setup();
      h = harness(definition as ConnectorDefinition, fx);
      for (const [key, reason] of Object.entries(fx.skip ?? {})) {
        console.log(`# contract ${name}: skipped ${key}: ${reason}`);
      }
    });
    after(async () => {
      await h?.connector.close();
      await fx?.teardown();
    });
    for (const check of contractChecks(definition as ConnectorDefinition)) {
      test(`${check.id} — ${check.title}`, async (t) => {
        if (!fx || !h) throw new Error("the fixture's setup failed");
        const reason = skipReason(check, fx);
        if (reason) return t.skip(reason);
        try {
          await check.run(h);
        } catch (err) {
          if (err instanceof SkipCheck) return t.skip(err.reason);
          throw err;
        }
      });
    }
  });
}
