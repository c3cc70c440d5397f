/**
 * `passerelle emulate <system>` as a user runs it, for each document-checked emulator: it prints the
 * system's URL and credentials as `export NAME=value` lines, and a connection made of them passes its check,
 * reads the seeded records and (for the shops) writes a product through the checked API.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bigcommerceSpecSkip, magentoSpecSkip, sapB1SpecSkip } from "@passerelle/emulators";
import { BigCommerceConfig } from "../../src/connectors/bigcommerce/config.ts";
import { bigcommerce } from "../../src/connectors/bigcommerce/index.ts";
import { BusinessCentralConfig } from "../../src/connectors/business-central/config.ts";
import { businessCentral } from "../../src/connectors/business-central/index.ts";
import { MagentoConfig } from "../../src/connectors/magento/config.ts";
import { magento } from "../../src/connectors/magento/index.ts";
import { PrestaShopConfig } from "../../src/connectors/prestashop/config.ts";
import { prestashop } from "../../src/connectors/prestashop/index.ts";
import { SapB1Config } from "../../src/connectors/sap-b1/config.ts";
import { sapB1 } from "../../src/connectors/sap-b1/index.ts";
import type { Connector } from "../../src/ports/connector.ts";
import { startCli } from "./long-running.ts";

type Value = (name: string) => Promise<string>;

interface Case {
  system: string;
  args: string[];
  skip: string | false;
  connect(value: Value): Promise<Connector>;
  /** The stream read and how many records the emulator seeds for it. */
  reads: { entity: "customer" | "product"; count: number };
  /** A product title to write through the checked API (shops only). */
  writes?: string;
}

const CASES: Case[] = [
  {
    system: "magento",
    args: [],
    skip: magentoSpecSkip(),
    connect: async (v) =>
      magento.create(
        "shop",
        MagentoConfig.parse({ url: await v("MAGENTO_URL"), accessToken: await v("MAGENTO_TOKEN") }),
      ),
    reads: { entity: "customer", count: 20 },
    writes: "Try",
  },
  {
    system: "bigcommerce",
    args: [],
    skip: bigcommerceSpecSkip(),
    connect: async (v) =>
      bigcommerce.create(
        "shop",
        BigCommerceConfig.parse({
          apiUrl: await v("BIGCOMMERCE_API_URL"),
          accessToken: await v("BIGCOMMERCE_TOKEN"),
        }),
      ),
    reads: { entity: "customer", count: 20 },
    writes: "Try",
  },
  {
    system: "prestashop",
    args: [],
    skip: false,
    connect: async (v) =>
      prestashop.create(
        "shop",
        PrestaShopConfig.parse({ url: await v("PRESTASHOP_URL"), key: await v("PRESTASHOP_KEY") }),
      ),
    reads: { entity: "customer", count: 20 },
    // XML entity escaping on the way in.
    writes: "Try & see",
  },
  {
    system: "business-central",
    args: ["--products", "7"],
    skip: false,
    connect: async (v) =>
      businessCentral.create(
        "erp",
        BusinessCentralConfig.parse({
          url: await v("BC_URL"),
          tokenUrl: await v("BC_TOKEN_URL"),
          tenantId: await v("BC_TENANT_ID"),
          clientId: await v("BC_CLIENT_ID"),
          clientSecret: await v("BC_CLIENT_SECRET"),
          companyId: await v("BC_COMPANY_ID"),
        }),
      ),
    reads: { entity: "product", count: 7 },
  },
  {
    system: "sap-b1",
    args: ["--products", "7"],
    skip: sapB1SpecSkip(),
    connect: async (v) =>
      sapB1.create(
        "erp",
        SapB1Config.parse({
          url: await v("SAPB1_URL"),
          companyDB: await v("SAPB1_COMPANY_DB"),
          username: await v("SAPB1_USERNAME"),
          password: await v("SAPB1_PASSWORD"),
        }),
      ),
    reads: { entity: "product", count: 7 },
  },
];

for (const c of CASES) {
  describe(`passerelle emulate ${c.system}`, { skip: c.skip }, () => {
    test(`passerelle emulate ${c.system} prints credentials a ${c.system} connection accepts`, async () => {
      const run = startCli(["emulate", c.system, "--port", "0", ...c.args], { ...process.env });
      try {
        const value: Value = async (name) =>
          (await run.waitFor("stdout", new RegExp(`export ${name}=(\\S+)`)))[1] as string;
        const conn = await c.connect(value);
        try {
          await conn.check();
          const seen: unknown[] = [];
          const stream = conn.streams[c.reads.entity];
          assert.ok(stream, `${c.system} reads ${c.reads.entity}`);
          for await (const page of stream.list({
            since: null,
            signpost: "2999-01-01T00:00:00Z",
            pageSize: 50,
          }))
            seen.push(...page);
          assert.equal(seen.length, c.reads.count);
          if (c.writes) {
            const [written] = await conn.writers.product!.upsert(
              [
                {
                  key: "TRY-1",
                  targetId: null,
                  externalRef: "TRY-1",
                  record: {
                    source: "erp",
                    sourceId: "1",
                    updatedAt: "2026-06-01T00:00:00Z",
                    key: "TRY-1",
                    title: c.writes,
                    status: "active",
                    currency: "EUR",
                    categoryPath: [],
                    attributes: {},
                    images: [],
                    components: [],
                    variants: [{ sku: "TRY-1", price: "9.90", options: {} }],
                  },
                },
              ],
              { resolve: async () => null },
            );
            assert.ok(written?.ok && written.action === "created", JSON.stringify(written));
          }
        } finally {
          await conn.close();
        }
      } finally {
        const res = await run.stop();
        assert.match(res.stdout, new RegExp(`${c.system} emulator running`));
      }
    });
  });
}
