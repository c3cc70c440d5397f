import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { connectorDefinitions } from "./index.ts";
import { connectorKinds, connectorsForConfig, loadedConnector } from "./registry.ts";

const dir = mkdtempSync(join(tmpdir(), "registry-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test("every type of the table loads the definition of that type, in the table's order", () => {
  assert.deepEqual(
    connectorDefinitions.map((d) => d.kind),
    connectorKinds,
  );
});

test("a configuration loads the connectors its connections name, once each, and no others", async () => {
  const path = file(
    "two.yaml",
    "version: 1\nconnections:\n  erp: { type: odoo }\n  shop: { type: shopify }\n  erp2: { type: odoo }\nflows: {}\n",
  );
  assert.deepEqual(
    (await connectorsForConfig(path)).map((d) => d.kind),
    ["odoo", "shopify"],
  );
  // The repository's own configuration: the demo's Odoo and Shopify.
  assert.deepEqual(
    (await connectorsForConfig(new URL("../../passerelle.yaml", import.meta.url).pathname)).map(
      (d) => d.kind,
    ),
    ["odoo", "shopify"],
  );
});

test("a type this build does not know, or a file that cannot be read, loads them all (validation then names the problem)", async () => {
  const all = connectorKinds.length;
  const unknown = file("unknown.yaml", "version: 1\nconnections:\n  erp: { type: odo }\nflows: {}\n");
  assert.equal((await connectorsForConfig(unknown)).length, all);
  assert.equal((await connectorsForConfig(join(dir, "missing.yaml"))).length, all);
  assert.equal((await connectorsForConfig(file("bad.yaml", "connections: [\n"))).length, all);
  assert.throws(() => loadedConnector("odo"), /unknown connector type "odo"; known: odoo, shopify/);
});
