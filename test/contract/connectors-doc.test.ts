/** docs/connectors.md's support table is the one the definitions generate (npm run docs:connectors). */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { BEGIN, connectorTable, DOC, END, withTable } from "../../scripts/docs-connectors.ts";
import { connectorDefinitions } from "../../src/connectors/index.ts";

test("the connector table in docs/connectors.md is generated from the definitions", () => {
  const doc = readFileSync(DOC, "utf8");
  assert.equal(doc, withTable(doc), "docs/connectors.md is stale: run npm run docs:connectors");
});

test("the table follows the definitions: a connector that loses a writer changes it", () => {
  const [first, ...rest] = connectorDefinitions;
  assert.ok(first);
  const fewer = {
    ...first,
    entities: { ...first.entities, [first.writes[0]!]: { read: false, write: false } },
  };
  assert.notEqual(connectorTable([fewer, ...rest]), connectorTable());
  const doc = `a\n${BEGIN}\nold\n${END}\nb`;
  assert.equal(withTable(doc, "new"), `a\n${BEGIN}\nnew\n${END}\nb`);
});

test("passerelle connectors --json lists what the definitions declare", () => {
  const bin = fileURLToPath(new URL("../../bin/passerelle.mjs", import.meta.url));
  const out = execFileSync(process.execPath, [bin, "--json", "connectors"], { encoding: "utf8" });
  assert.deepEqual(
    JSON.parse(out),
    connectorDefinitions.map((d) => ({
      type: d.id,
      version: d.version,
      description: d.description,
      reads: d.reads,
      writes: d.writes,
      capabilities: d.capabilities,
    })),
  );
});
