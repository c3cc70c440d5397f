import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { defineConnector } from "../ports/connector.ts";
import { ConfigError } from "./errors.ts";
import { parseConfig } from "./load.ts";
import { ALIAS_EXPANSION, parseYaml } from "./yaml.ts";

/** Config tests never open a connection: the factories exist so the entity map declares what it can do. */
const unused = (): never => {
  throw new Error("config tests never create connections");
};

/** A connector kind that exists only in these tests; real connectors are registered elsewhere. */
const testConnector = defineConnector({
  id: "test",
  version: "0",
  description: "test connector",
  config: z.strictObject({ url: z.url(), token: z.string().min(8) }),
  client: () => null,
  entities: Object.fromEntries(["inventory"].map((e) => [e, { read: unused, write: unused }])),
  capabilities: { rateModel: "none" },
  connection: () => ({
    check: async () => undefined,
    stats: () => ({ calls: 0, throttled: 0 }),
    close: async () => undefined,
  }),
});

const HEAD = `version: 1
connections:
  erp: { type: test, url: "http://erp", token: "\${env:T}" }
  shop: { type: test, url: "http://shop", token: "\${env:T}" }
`;
const env = { T: "12345678" };

function configError(text: string): ConfigError {
  try {
    parseConfig(text, [testConnector], { env });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail("expected a ConfigError");
}

/** The classic "billion laughs": nine levels of nine aliases, 9^9 strings from a dozen lines. */
function billionLaughs(): string {
  const lines = ["lol:", '  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  let previous = "a";
  for (const name of "bcdefghi") {
    lines.push(`  ${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
    previous = name;
  }
  return lines.join("\n");
}

describe("YAML aliases", () => {
  it("refuses a billion-laughs bomb with the line of the alias where it blows up", () => {
    const text = `${HEAD}${billionLaughs()}\n`;
    const err = configError(text);
    assert.equal(err.issues.length, 1, err.message);
    const [issue] = err.issues;
    assert.equal(issue?.path, "(yaml)");
    // *a holds 10 values, *b 91, … *f 597,871: the second *f on the line of g passes a million.
    const line = text.split("\n").findIndex((l) => l.startsWith("  g: &g")) + 1;
    assert.match(issue?.message ?? "", /^alias \*f repeats 597,871 values.*alias bomb \(line (\d+)\)$/);
    assert.match(issue?.message ?? "", new RegExp(`\\(line ${line}\\)$`));
  });

  it("refuses an alias inside the value it names, and an alias with no anchor before it", () => {
    const circular = configError(`${HEAD}x: &loop [1, *loop]\n`);
    assert.match(circular.message, /alias \*loop is inside the value it names.*\(line 5\)/);
    const unknown = configError(`${HEAD}x: *nowhere\n`);
    assert.match(unknown.message, /alias \*nowhere names no anchor written before it \(line 5\)/);
  });

  const stockFlow = (name: string, map: string) => `  ${name}:
    source: { connection: erp, entity: inventory }
    target: { connection: shop, entity: inventory }
    mapping:
      location: { from: location, map: ${map}, strict: true }
`;
  const locationMap = (config: ReturnType<typeof parseConfig>["config"], flow: string) => {
    const rule = config.flows[flow]?.mapping?.location;
    assert.ok(rule && typeof rule === "object" && rule.map, `${flow} has its value map`);
    return rule.map;
  };

  it("accepts a small anchor used 150 times", () => {
    // The yaml library's own guard refuses an anchor used more than 100 times, however small it is.
    const flows = [stockFlow("f0", "&sites { WH: Main, WH2: East }")];
    for (let i = 1; i < 150; i++) flows.push(stockFlow(`f${i}`, "*sites"));
    const { config } = parseConfig(`${HEAD}flows:\n${flows.join("")}`, [testConnector], { env });
    assert.equal(Object.keys(config.flows).length, 150);
    assert.deepEqual(locationMap(config, "f149"), { WH: "Main", WH2: "East" });
  });

  it("accepts a 100,000-entry value map shared by five flows", () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => `WH${i}: Site ${i}`).join(", ");
    const flows = [stockFlow("f0", `&sites { ${entries} }`)];
    for (let i = 1; i < 5; i++) flows.push(stockFlow(`f${i}`, "*sites"));
    const { config } = parseConfig(`${HEAD}flows:\n${flows.join("")}`, [testConnector], { env });
    assert.equal(locationMap(config, "f4").WH99999, "Site 99999");
  });

  it("allows aliases to grow the document up to the stated limit, not one alias more", () => {
    const n = 1000;
    const doc = (k: number) =>
      `big: &big [${Array(n).fill("1").join(", ")}]\ncopies: [${Array(k).fill("*big").join(", ")}]\n`;
    // Values as written: the root, the two keys, the list and its n items, the copies list: n + 5. Each
    // alias repeats the list and its items: n + 1. Small enough that the floor, not the factor, applies.
    const most = Math.floor((ALIAS_EXPANSION.floor - (n + 5)) / (n + 1));
    assert.ok(ALIAS_EXPANSION.factor * (n + 5 + most + 1) < ALIAS_EXPANSION.floor);
    assert.deepEqual(parseYaml(doc(most)).problems, []);
    const refused = parseYaml(doc(most + 1)).problems;
    assert.match(refused[0]?.message ?? "", /^alias \*big repeats 1,001 values; .* more than 1,000,000/);
    assert.equal(refused[0]?.line, 2);
  });
});

describe("duplicate keys", () => {
  it("are found in a large mapping, with the line of the second one", () => {
    const entries = Array.from({ length: 50_000 }, (_, i) => `  K${i}: v`);
    entries.push("  K7: again");
    const { problems } = parseYaml(`map:\n${entries.join("\n")}\n`);
    assert.deepEqual(problems, [{ message: 'Map keys must be unique: "K7" is written twice', line: 50_002 }]);
  });

  it("are found in flow mappings and nested mappings", () => {
    const { problems } = parseYaml("a: { x: 1, x: 2 }\nb:\n  c:\n    y: 1\n    y: 2\n");
    assert.deepEqual(
      problems.map((p) => p.line),
      [1, 5],
    );
  });
});

describe("what the YAML parser itself cannot take", () => {
  it("a long block inside { }: a clear problem instead of a stack overflow", () => {
    // The library's parser recurses once per line here and overflows the stack from a few thousand lines.
    const entries = Array.from({ length: 20_000 }, (_, i) => `        WH${i}: Site ${i}`).join("\n");
    const err = configError(`${HEAD}x: { map: &s\n${entries}\n  }\n`);
    assert.equal(err.issues[0]?.path, "(yaml)");
    assert.match(
      err.message,
      /the YAML parser ran out of stack; look for many "key: value" lines written inside/,
    );
  });
});
