/**
 * `passerelle emulate business-central` as a user runs it: it prints the environment's URL, the token
 * endpoint, the app's credentials and the company, and a Business Central connection made of them gets a
 * token, passes its check and reads the seeded items.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BusinessCentralConfig } from "../../src/connectors/business-central/config.ts";
import { businessCentral } from "../../src/connectors/business-central/index.ts";
import { startCli } from "./long-running.ts";

describe("passerelle emulate business-central", () => {
  test("passerelle emulate business-central prints credentials a business-central connection accepts", async () => {
    const run = startCli(["emulate", "business-central", "--port", "0", "--products", "7"], {
      ...process.env,
    });
    try {
      const value = async (name: string) =>
        (await run.waitFor("stdout", new RegExp(`export ${name}=(\\S+)`)))[1] as string;
      const erp = businessCentral.create(
        "erp",
        BusinessCentralConfig.parse({
          url: await value("BC_URL"),
          tokenUrl: await value("BC_TOKEN_URL"),
          tenantId: await value("BC_TENANT_ID"),
          clientId: await value("BC_CLIENT_ID"),
          clientSecret: await value("BC_CLIENT_SECRET"),
          companyId: await value("BC_COMPANY_ID"),
        }),
      );
      await erp.check();
      const items: unknown[] = [];
      for await (const page of erp.streams.product!.list({
        since: null,
        signpost: "2999-01-01T00:00:00Z",
        pageSize: 50,
      }))
        items.push(...page);
      assert.equal(items.length, 7);
      await erp.close();
    } finally {
      const res = await run.stop();
      assert.match(res.stdout, /business-central emulator running/);
    }
  });
});
