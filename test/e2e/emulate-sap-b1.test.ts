/**
 * `passerelle emulate sap-b1` as a user runs it: it prints the Service Layer's URL, company and login, and
 * an SAP Business One connection made of them logs in, passes its check and reads the seeded items.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sapB1SpecSkip } from "@passerelle/emulators";
import { SapB1Config } from "../../src/connectors/sap-b1/config.ts";
import { sapB1 } from "../../src/connectors/sap-b1/index.ts";
import { startCli } from "./long-running.ts";

describe("passerelle emulate sap-b1", { skip: sapB1SpecSkip() }, () => {
  test("passerelle emulate sap-b1 prints credentials a sap-b1 connection accepts", async () => {
    const run = startCli(["emulate", "sap-b1", "--port", "0", "--products", "7"], { ...process.env });
    try {
      const value = async (name: string) =>
        (await run.waitFor("stdout", new RegExp(`export ${name}=(\\S+)`)))[1] as string;
      const erp = sapB1.create(
        "erp",
        SapB1Config.parse({
          url: await value("SAPB1_URL"),
          companyDB: await value("SAPB1_COMPANY_DB"),
          username: await value("SAPB1_USERNAME"),
          password: await value("SAPB1_PASSWORD"),
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
      assert.match(res.stdout, /sap-b1 emulator running/);
    }
  });
});
