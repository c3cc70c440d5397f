import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { z } from "zod";
import {
  BULK_OPERATION,
  BULK_OPERATION_RUN_MUTATION,
  STAGED_UPLOADS_CREATE,
} from "../../src/connectors/shopify/bulk.ts";
import { ShopifyClient } from "../../src/connectors/shopify/client.ts";
import { ShopifyConfig } from "../../src/connectors/shopify/config.ts";
import { BULK_PRODUCT_SET } from "../../src/connectors/shopify/writers/product.ts";

const Staged = z.object({
  stagedUploadsCreate: z.object({
    stagedTargets: z.array(
      z.object({ url: z.string(), parameters: z.array(z.object({ name: z.string(), value: z.string() })) }),
    ),
  }),
});
const Run = z.object({
  bulkOperationRunMutation: z.object({
    bulkOperation: z.object({ id: z.string() }).nullable(),
    userErrors: z.array(z.object({ code: z.string().nullable(), message: z.string() })),
  }),
});
const Node = z.object({
  node: z.object({ status: z.string(), objectCount: z.string(), url: z.string().nullable() }).nullable(),
});
const ResultLine = z.object({
  __lineNumber: z.number(),
  data: z.unknown().optional(),
  errors: z.array(z.object({ message: z.string() })).optional(),
});

const titleOnly = (title: string) => ({
  input: { title, productOptions: [{ name: "Title", values: [{ name: "Default Title" }] }] },
});

describe("shopify emulator: bulk mutations, line by line", () => {
  let emu: ShopifyEmulator;
  let client: ShopifyClient;
  before(async () => {
    emu = await startShopifyEmulator({ seed: 9, customers: 0, rateLimit: { enabled: false } });
    client = new ShopifyClient(
      "shopify",
      ShopifyConfig.parse({ shop: emu.shop, accessToken: emu.accessToken, endpoint: emu.url }),
    );
  });
  after(() => emu.close());

  /** Uploads `jsonl` as it is (no re-encoding, so broken lines reach the emulator) and returns its key. */
  async function upload(jsonl: string): Promise<string> {
    const staged = await client.request(
      STAGED_UPLOADS_CREATE,
      {
        input: [
          {
            resource: "BULK_MUTATION_VARIABLES",
            filename: "v.jsonl",
            mimeType: "text/jsonl",
            httpMethod: "POST",
          },
        ],
      },
      Staged,
    );
    const target = staged.stagedUploadsCreate.stagedTargets[0];
    assert.ok(target);
    const form = new FormData();
    for (const p of target.parameters) form.append(p.name, p.value);
    form.append("file", new Blob([jsonl], { type: "text/jsonl" }), "v.jsonl");
    const res = await fetch(target.url, { method: "POST", body: form });
    assert.equal(res.status, 201);
    await res.arrayBuffer();
    const key = target.parameters.find((p) => p.name === "key")?.value;
    assert.ok(key);
    return key;
  }

  async function runToEnd(mutation: string, jsonl: string) {
    const run = await client.request(
      BULK_OPERATION_RUN_MUTATION,
      { mutation, stagedUploadPath: await upload(jsonl) },
      Run,
    );
    const id = run.bulkOperationRunMutation.bulkOperation?.id;
    assert.ok(id, JSON.stringify(run.bulkOperationRunMutation.userErrors));
    for (;;) {
      const { node } = await client.request(BULK_OPERATION, { id }, Node);
      assert.ok(node);
      if (node.status !== "CREATED" && node.status !== "RUNNING") {
        assert.equal(node.status, "COMPLETED");
        assert.ok(node.url);
        const text = await (await fetch(node.url)).text();
        const lines = text
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => ResultLine.parse(JSON.parse(l)));
        return { objectCount: Number(node.objectCount), lines };
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  test("bad lines are reported in the result file by line number; the other lines run", async () => {
    const products = emu.data.products.size;
    const jsonl = [
      JSON.stringify(titleOnly("Bulk good 0")), // 0
      '{"input": {"title": "broken"', // 1: not JSON
      JSON.stringify([titleOnly("in an array")]), // 2: not an object
      JSON.stringify({ input: "a string, not a ProductSetInput" }), // 3: wrong type
      JSON.stringify({ identifier: null }), // 4: the required $input is missing
      "", // 5: blank, skipped
      JSON.stringify({ input: { title: "Bulk bad field", noSuchField: 1 } }), // 6: unknown input field
      JSON.stringify(titleOnly("Bulk good 7")), // 7
    ].join("\n");
    const { objectCount, lines } = await runToEnd(BULK_PRODUCT_SET, `${jsonl}\n`);
    assert.deepEqual(
      lines.map((l) => l.__lineNumber),
      [0, 1, 2, 3, 4, 6, 7],
    );
    assert.equal(objectCount, 7);
    const byLine = new Map(lines.map((l) => [l.__lineNumber, l]));
    const message = (n: number) =>
      byLine
        .get(n)
        ?.errors?.map((e) => e.message)
        .join("; ") ?? "";
    assert.match(message(1), /not JSON/);
    assert.match(message(2), /JSON object/);
    assert.match(message(3), /\$input.*ProductSetInput/);
    assert.match(message(4), /\$input.*ProductSetInput!.*not provided/);
    assert.match(message(6), /noSuchField/);
    for (const n of [1, 2, 3, 4, 6]) assert.equal(byLine.get(n)?.data, undefined, `line ${n} ran`);
    for (const n of [0, 7]) {
      const data = byLine.get(n)?.data as { productSet: { product: { id: string } | null } };
      assert.ok(data.productSet.product?.id.startsWith("gid://shopify/Product/"), `line ${n}`);
      assert.equal(byLine.get(n)?.errors, undefined);
    }
    assert.equal(emu.data.products.size, products + 2);
  });

  test("the document is checked once, before any line runs", async () => {
    const refuse = async (mutation: string) => {
      const run = await client.request(
        BULK_OPERATION_RUN_MUTATION,
        { mutation, stagedUploadPath: await upload(`${JSON.stringify(titleOnly("never"))}\n`) },
        Run,
      );
      assert.equal(run.bulkOperationRunMutation.bulkOperation, null);
      return run.bulkOperationRunMutation.userErrors[0];
    };
    const products = emu.data.products.size;
    const unknownField = await refuse(
      "mutation M($input: ProductSetInput!) { productSet(input: $input) { product { noSuchField } } }",
    );
    assert.equal(unknownField?.code, "INVALID_MUTATION");
    assert.match(unknownField?.message ?? "", /noSuchField/);
    const two = await refuse(
      "mutation M($input: ProductSetInput!) { a: productSet(input: $input) { product { id } } b: productSet(input: $input) { product { id } } }",
    );
    assert.equal(two?.code, "INVALID_MUTATION");
    const query = await refuse("query Q { shop { name } }");
    assert.equal(query?.code, "INVALID_MUTATION");
    assert.equal(emu.data.products.size, products);
  });

  describe("webhooks", () => {
    let hooks: Server;
    const received: { topic: string; id: string }[] = [];
    before(async () => {
      hooks = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { admin_graphql_api_id: string };
          received.push({ topic: String(req.headers["x-shopify-topic"]), id: body.admin_graphql_api_id });
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((r) => hooks.listen(0, "127.0.0.1", () => r()));
    });
    after(() => new Promise<void>((r) => hooks.close(() => r())));

    test("products created by a bulk mutation raise products/create, as any write does", async () => {
      const port = (hooks.address() as AddressInfo).port;
      await client.request(
        `mutation W($uri: String!) {
          webhookSubscriptionCreate(topic: PRODUCTS_CREATE, webhookSubscription: { uri: $uri }) {
            webhookSubscription { id } userErrors { message }
          }
        }`,
        { uri: `http://127.0.0.1:${port}/hooks` },
        z.unknown(),
      );
      const jsonl = `${Array.from({ length: 3 }, (_, i) => JSON.stringify(titleOnly(`Hooked ${i}`))).join("\n")}\n`;
      const { lines } = await runToEnd(BULK_PRODUCT_SET, jsonl);
      await emu.webhooks.settle();
      const created = lines.map(
        (l) => (l.data as { productSet: { product: { id: string } } }).productSet.product.id,
      );
      assert.deepEqual(
        received.filter((r) => r.topic === "products/create").map((r) => r.id),
        created,
      );
    });
  });
});
