import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { sqlContractSettings } from "../../test/fixtures/sql-contract.ts";
import { configTestConnector } from "../../test/helpers/config-connector.ts";
import { connectorDefinitions } from "../connectors/index.ts";
import { tryton } from "../connectors/tryton/index.ts";
import { vendure } from "../connectors/vendure/index.ts";
import { woocommerce } from "../connectors/woocommerce/index.ts";
import { defineConnector } from "../ports/connector.ts";
import { ConfigError } from "./errors.ts";
import { configJsonSchema } from "./json-schema.ts";
import { loadConfig, parseConfig } from "./load.ts";

/** Config tests never open a connection: the factories exist so the entity map declares what it can do. */
const unused = (): never => {
  throw new Error("config tests never create connections");
};

/** A connector kind that exists only in these tests; real connectors are registered elsewhere. */
const testConnector = configTestConnector(
  z.strictObject({
    url: z.url(),
    token: z.string().min(8),
    pageSize: z.number().int().min(1).default(50),
  }),
);
const defs = [testConnector];

const VALID = `version: 1
connections:
  erp:
    type: test
    url: http://127.0.0.1:8069
    token: \${env:ERP_TOKEN}
  shop:
    type: test
    url: https://demo.example.com
    token: "\${file:shop-token}"
flows:
  products:
    source: { connection: erp, entity: product }
    target: { connection: shop, entity: product }
    batchSize: 250
    trigger: { type: schedule, cron: "*/15 * * * *" }
    filter: status = "active"
    mapping:
      vendor: { value: ACME }
      "variants[].price": { expr: "$string($number(price) * 1.2)" }
`;

const env = { ERP_TOKEN: "erp-token-123456" };
const readFile = (path: string): string => {
  if (path.endsWith("shop-token")) return "shpat_0123456789\n";
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected a ConfigError");
}

describe("parseConfig", () => {
  it("loads a valid file with defaults, resolved secrets and no warnings", () => {
    const { config, secrets, warnings } = parseConfig(VALID, defs, {
      env,
      readFile,
      baseDir: "/etc/passerelle",
    });
    assert.equal(config.store.url, "sqlite:.passerelle/passerelle.sqlite");
    assert.deepEqual(config.server, { host: "127.0.0.1", port: 8470, jobsThread: false });
    assert.deepEqual(config.connections.erp, {
      type: "test",
      url: "http://127.0.0.1:8069",
      token: "erp-token-123456",
      pageSize: 50,
    });
    assert.equal(config.connections.shop?.token, "shpat_0123456789");
    const flow = config.flows.products!;
    assert.equal(flow.batchSize, 250);
    assert.equal(flow.direction, "one-way");
    assert.deepEqual(flow.trigger, { type: "schedule", cron: "*/15 * * * *" });
    assert.deepEqual(flow.mapping?.vendor, { value: "ACME" });
    assert.deepEqual(secrets.sort(), ["erp-token-123456", "shpat_0123456789"]);
    assert.deepEqual(warnings, []);
  });

  it("defaults trigger, batch size and flows", () => {
    const text = `version: 1\nconnections:\n  a: { type: test, url: 'http://a', token: '$\{env:T}' }\n`;
    const { config } = parseConfig(text, defs, { env: { T: "12345678" } });
    assert.deepEqual(config.flows, {});
    const withFlow = parseConfig(
      `${text}  b: { type: test, url: 'http://b', token: '\${env:T}' }\nflows:\n  f: { source: { connection: a, entity: price }, target: { connection: b, entity: price } }\n`,
      defs,
      { env: { T: "12345678" } },
    );
    assert.equal(withFlow.config.flows.f?.batchSize, 100);
    assert.deepEqual(withFlow.config.flows.f?.trigger, { type: "manual" });
  });

  it("lists every independent problem with its path and line", () => {
    const text = `version: 1
connections:
  erp: { type: test, url: "http://erp", token: "\${env:ERP_TOKEN}" }
flows:
  products:
    source: { connection: erp, entity: product }
    target: { connection: shopp, entity: product }
    batchSize: 5000
  orders:
    source: { connection: erp, entity: purchase }
    target: { connection: erp, entity: order }
`;
    const err = configError(() => parseConfig(text, defs, { env }));
    const byPath = new Map(err.issues.map((i) => [i.path, i.message]));
    assert.match(
      byPath.get("flows.products.target.connection") ?? "",
      /unknown connection; connections: erp \(got "shopp"\) \(line 7\)/,
    );
    assert.match(byPath.get("flows.products.batchSize") ?? "", /1000.*\(got 5000\).*\(line 8\)/);
    assert.match(
      byPath.get("flows.orders.source.entity") ?? "",
      /canonical entity.*\(got "purchase"\).*\(line 10\)/,
    );
    assert.match(byPath.get("flows.orders.target.connection") ?? "", /different connection/);
    for (const path of byPath.keys()) assert.match(err.message, new RegExp(path.replace(/\./g, "\\.")));
    assert.equal(err.message.split("\n").length, err.issues.length + 1);
  });

  it("names an unknown connector type and lists the known ones", () => {
    const err = configError(() => parseConfig("version: 1\nconnections:\n  erp:\n    type: odo\n", defs));
    assert.deepEqual(err.issues, [
      {
        path: "connections.erp.type",
        message: 'unknown connector type; known types: test (got "odo") (line 4)',
      },
    ]);
  });

  it("governor: a budget per known connection; an unknown one or a bad rate is named with its path", () => {
    const ok = parseConfig(`${VALID}governor:\n  erp: { requestsPerSecond: 10 }\n`, defs, { env, readFile });
    assert.deepEqual(ok.config.governor, { erp: { requestsPerSecond: 10 } });
    assert.equal(ok.config.store.jobExpireSeconds, 900);
    const err = configError(() =>
      parseConfig(
        `${VALID}governor:\n  odoo: { requestsPerSecond: 10 }\n  erp: { requestsPerSecond: 0 }\n`,
        defs,
        {
          env,
          readFile,
        },
      ),
    );
    const issues = err.issues.map((i) => `${i.path}: ${i.message}`).join("\n");
    assert.match(issues, /governor\.odoo: unknown connection "odoo"; connections: erp, shop/);
    assert.match(issues, /governor\.erp\.requestsPerSecond: /);
  });

  it("server.documentLinks: a short secret is refused by its path, not shown; the default lifetime is 30 days", () => {
    const short = { ...env, LINK_SECRET: "too-short-9f2k" };
    const err = configError(() =>
      parseConfig(
        `${VALID}server:\n  documentLinks: { secret: "\${env:LINK_SECRET}", publicUrl: "ftp://x" }\n`,
        defs,
        { env: short, readFile },
      ),
    );
    const issues = err.issues.map((i) => `${i.path}: ${i.message}`).join("\n");
    assert.match(issues, /server\.documentLinks\.secret: must be at least 32 characters/);
    assert.match(issues, /server\.documentLinks\.publicUrl: /);
    assert.ok(!issues.includes("too-short-9f2k"), issues);
    const long = { ...env, LINK_SECRET: "a-link-secret-of-forty-characters-000000" };
    const ok = parseConfig(
      `${VALID}server:\n  documentLinks: { secret: "\${env:LINK_SECRET}", publicUrl: "https://sync.example.com" }\n`,
      defs,
      { env: long, readFile },
    );
    assert.equal(ok.config.server.documentLinks?.days, 30);
    assert.ok(ok.secrets.includes(long.LINK_SECRET));
  });

  it("documentLinks on a flow: only invoice and shipment flows, and only with server.documentLinks", () => {
    const withInvoices = `${VALID}  invoices:
    source: { connection: erp, entity: invoice }
    target: { connection: shop, entity: invoice }
    documentLinks: true
`;
    const onProducts = withInvoices.replace("batchSize: 250", "batchSize: 250\n    documentLinks: true");
    const err = configError(() => parseConfig(onProducts, defs, { env, readFile }));
    const issues = err.issues.map((i) => `${i.path}: ${i.message}`).join("\n");
    assert.match(
      issues,
      /flows\.products\.documentLinks: only invoice and shipment flows carry documents; flow products moves product records/,
    );
    assert.match(issues, /flows\.invoices\.documentLinks: needs server\.documentLinks \(secret, publicUrl\)/);
    const linked = { ...env, LINK_SECRET: "a-link-secret-of-forty-characters-000000" };
    const ok = parseConfig(
      `${withInvoices}server:\n  documentLinks: { secret: "\${env:LINK_SECRET}", publicUrl: "https://sync.example.com" }\n`,
      defs,
      { env: linked, readFile },
    );
    assert.equal(ok.config.flows.invoices?.documentLinks, true);
  });

  it("reports the connector's own settings with their paths", () => {
    const err = configError(() =>
      parseConfig(
        "version: 1\nconnections:\n  erp: { type: test, url: nope, token: '12345678', extra: 1 }\n",
        defs,
      ),
    );
    const paths = err.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ["connections.erp.extra", "connections.erp.url"]);
  });

  it("names a missing environment variable, once, with its line", () => {
    const err = configError(() => parseConfig(VALID, defs, { env: {}, readFile }));
    assert.deepEqual(err.issues, [
      { path: "connections.erp.token", message: "environment variable ERP_TOKEN is not set (line 6)" },
    ]);
  });

  it("names an unreadable secret file", () => {
    const err = configError(() =>
      parseConfig(VALID, defs, { env, readFile: () => assert.fail("no"), baseDir: "/s" }),
    );
    assert.equal(err.issues[0]?.path, "connections.shop.token");
    assert.match(err.issues[0]?.message ?? "", /cannot read secret file \/s\/shop-token/);
  });

  it("substitutes references inside longer strings and keeps $${ literal", () => {
    const text = `version: 1
store:
  url: "postgres://app:\${env:PGPASSWORD}@db:5432/app"
connections:
  erp: { type: test, url: "http://erp/?q=$\${env:X}", token: "\${env:T}" }
`;
    const { config, secrets } = parseConfig(text, defs, { env: { PGPASSWORD: "pg-pass", T: "12345678" } });
    assert.equal(config.store.url, "postgres://app:pg-pass@db:5432/app");
    assert.equal(config.connections.erp?.url, `http://erp/?q=$\{env:X}`);
    assert.ok(secrets.includes("pg-pass"));
  });

  it("never puts a secret in an error message", () => {
    const text = `version: 1
connections:
  erp: { type: test, url: "http://sync:\${env:T}@erp", token: "\${env:SHORT}" }
  shop: { type: test, url: "\${env:HOST}", token: "inline-secret-1" }
`;
    const err = configError(() =>
      parseConfig(text, defs, { env: { T: "top-secret-value", SHORT: "abc", HOST: "not a url" } }),
    );
    assert.ok(err.issues.length >= 2, err.message);
    for (const secret of ["top-secret-value", "abc", "inline-secret-1"]) {
      assert.equal(err.message.includes(secret), false, `${secret} leaked: ${err.message}`);
      assert.equal(JSON.stringify(err.issues).includes(secret), false);
    }
  });

  it("treats environment values as secrets only in credential fields, so names stay readable", () => {
    const text = `version: 1
connections:
  erp: { type: test, url: "\${env:URL}", token: "\${env:TOKEN}" }
`;
    const { secrets } = parseConfig(text, defs, { env: { URL: "http://erp.internal", TOKEN: "tok-123456" } });
    assert.deepEqual(secrets, ["tok-123456"]);
  });

  it("warns about credentials written in the file, without their value", () => {
    const text = `version: 1
store: { url: "postgres://app:hunter22@db/app" }
connections:
  erp: { type: test, url: "http://erp", token: "literal-token" }
`;
    const { secrets, warnings } = parseConfig(text, defs);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join("\n"), /store\.url: password written in the URL.*\(line 2\)/);
    assert.match(warnings.join("\n"), /connections\.erp\.token: credential written in the file.*\(line 4\)/);
    assert.equal(warnings.join("\n").includes("hunter22"), false);
    assert.ok(secrets.includes("literal-token") && secrets.includes("hunter22"));
  });

  it("reports mapping and filter problems at their config path", () => {
    const text = `version: 1
connections:
  a: { type: test, url: "http://a", token: "\${env:T}" }
  b: { type: test, url: "http://b", token: "\${env:T}" }
flows:
  orders:
    source: { connection: a, entity: order }
    target: { connection: b, entity: order }
    filter: "total >"
    mapping:
      total: { expr: "$string(total" }
      financialStatus: { from: financialStatus, format: shout }
      "a..b": x
`;
    const err = configError(() => parseConfig(text, defs, { env: { T: "12345678" } }));
    const byPath = new Map(err.issues.map((i) => [i.path, i.message]));
    // JSONata throws plain objects: their message, code and position, not "[object Object]".
    assert.equal(
      byPath.get("flows.orders.filter"),
      'invalid JSONata filter: Unexpected end of expression (S0207) at position 7 (got "total >") (line 9)',
    );
    assert.equal(
      byPath.get("flows.orders.mapping.total"),
      'invalid JSONata expression: Expected ")" before end of expression (S0203) at position 13 (got "$string(total") (line 11)',
    );
    assert.match(
      byPath.get("flows.orders.mapping.financialStatus.format") ?? "",
      /upper.*\(got "shout"\).*\(line 12\)/,
    );
    assert.match(byPath.get("flows.orders.mapping.a..b") ?? "", /bad target path/);
  });

  it("reports YAML syntax errors with their line", () => {
    const err = configError(() => parseConfig("version: 1\nconnections:\n  erp: [unclosed\n", defs));
    assert.equal(err.issues[0]?.path, "(yaml)");
    assert.match(err.issues[0]?.message ?? "", /\(line \d+\)/);
    const dup = configError(() => parseConfig("version: 1\nversion: 1\n", defs));
    assert.match(dup.message, /(?:duplicate|unique).*\(line 2\)/i);
  });

  it("rejects a wrong version, unknown top-level keys and an empty file", () => {
    const err = configError(() => parseConfig("version: 2\nconnection: {}\n", defs));
    const paths = err.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ["connection", "connections", "version"]);
    assert.match(configError(() => parseConfig("", defs)).message, /empty/);
  });
});

describe("loadConfig", () => {
  it("reads a file and resolves file references relative to it", () => {
    const dir = mkdtempSync(join(tmpdir(), "passerelle-config-"));
    try {
      writeFileSync(join(dir, "shop-token"), "shpat_from_file\n");
      writeFileSync(join(dir, "passerelle.yaml"), VALID);
      const { config, secrets } = loadConfig(join(dir, "passerelle.yaml"), defs, { env });
      assert.equal(config.connections.shop?.token, "shpat_from_file");
      assert.ok(secrets.includes("shpat_from_file"));
      const missing = configError(() => loadConfig(join(dir, "nope.yaml"), defs));
      assert.match(missing.message, /nope\.yaml: cannot read the configuration file \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("configJsonSchema", () => {
  it("describes flows, connections by type and defaults, for editors", () => {
    const schema = configJsonSchema(defs);
    const text = JSON.stringify(schema);
    assert.equal(schema.type, "object");
    const properties = z.record(z.string(), z.unknown()).parse(schema.properties);
    assert.ok(properties.flows && properties.connections && properties.version);
    assert.match(text, /"batchSize":\{[^}]*"default":100/);
    assert.match(text, /"const":"test"/);
    assert.match(text, /"schedule"/);
    assert.match(text, /"expr"/);
    assert.deepEqual(JSON.parse(text), schema);
  });
});

describe("flows against what connectors can do", () => {
  const ordersOnly = defineConnector({
    ...testConnector.spec,
    id: "orders-only",
    entities: { order: { read: unused } },
  });
  const text = `version: 1
connections:
  shop: { type: orders-only, url: 'http://shop', token: '12345678' }
  erp: { type: test, url: 'http://erp', token: '12345678' }
flows:
  backwards:
    source: { connection: erp, entity: product }
    target: { connection: shop, entity: product }
  mixed:
    source: { connection: shop, entity: order }
    target: { connection: erp, entity: customer }
`;

  it("names the flow side whose connection cannot read or write the entity, and mismatched entities", () => {
    const err = configError(() => parseConfig(text, [testConnector, ordersOnly], {}));
    const byPath = new Map(err.issues.map((i) => [i.path, i.message]));
    assert.match(
      byPath.get("flows.backwards.target.entity") ?? "",
      /orders-only connection cannot write product records/,
    );
    assert.match(byPath.get("flows.mixed.target.entity") ?? "", /must be the source's entity \(order\)/);
    assert.equal(byPath.has("flows.mixed.source.entity"), false);
  });
});

describe("refund flows (shop refunds ⇄ ERP credit notes)", () => {
  const refunds = (
    from: string,
    to: string,
    shop = `type: vendure, url: 'http://shop.test', username: admin, password: '\${env:P}'`,
  ) => `version: 1
connections:
  shop: { ${shop} }
  erp: { type: tryton, url: 'http://erp.test', db: erp, username: admin, password: '\${env:P}' }
flows:
  refunds:
    source: { connection: ${from}, entity: refund }
    target: { connection: ${to}, entity: refund }
`;
  const env = { P: "secret-pass" };

  it("accepts Vendure refunds to Tryton", () => {
    const { config } = parseConfig(refunds("shop", "erp"), [vendure, tryton], { env });
    assert.equal(config.flows.refunds?.source.entity, "refund");
  });

  it("accepts Tryton credit notes to Vendure", () => {
    const { config } = parseConfig(refunds("erp", "shop"), [vendure, tryton], { env });
    assert.equal(config.flows.refunds?.target.connection, "shop");
  });

  it("refuses a shop that cannot write refunds, naming the side, the connection kind and the entity", () => {
    const woo = `type: woocommerce, url: 'http://shop.test', username: u, applicationPassword: '\${env:P}'`;
    const err = configError(() => parseConfig(refunds("erp", "shop", woo), [woocommerce, tryton], { env }));
    const byPath = new Map(err.issues.map((i) => [i.path, i.message]));
    assert.match(
      byPath.get("flows.refunds.target.entity") ?? "",
      /a woocommerce connection cannot write refund records/,
    );
  });

  it("refuses a misspelt entity, listing the entities", () => {
    const err = configError(() =>
      parseConfig(refunds("shop", "erp").replaceAll("entity: refund", "entity: refunds"), [vendure, tryton], {
        env,
      }),
    );
    assert.match(
      err.issues.map((i) => i.message).join("\n"),
      /must be a canonical entity: .*invoice, refund/,
    );
  });
});

describe("a connection's settings beside the flows using it (checkUse)", () => {
  const shop = `version: 1
connections:
  erp: { type: test, url: 'http://erp', token: '12345678' }
  shop: { type: woocommerce, url: 'http://shop.test', username: u, applicationPassword: '\${env:P}' }
flows:
  products:
    source: { connection: erp, entity: product }
    target: { connection: shop, entity: product }
`;
  const prices = `  prices:
    source: { connection: erp, entity: price }
    target: { connection: shop, entity: price }
`;
  const env = { P: "app pass word" };

  it("refuses a WooCommerce shop whose product and price flows would both write regular_price", () => {
    const err = configError(() => parseConfig(shop + prices, [testConnector, woocommerce], { env }));
    const issue = err.issues.find((i) => i.path === "connections.shop.productPrices");
    assert.ok(issue, JSON.stringify(err.issues));
    assert.match(issue.message, /set productPrices: on-create/);
  });

  it("accepts it with productPrices: on-create, and a product flow alone with the default", () => {
    const onCreate = (shop + prices).replace(
      "applicationPassword:",
      "productPrices: on-create, applicationPassword:",
    );
    assert.doesNotThrow(() => parseConfig(onCreate, [testConnector, woocommerce], { env }));
    assert.doesNotThrow(() => parseConfig(shop, [testConnector, woocommerce], { env }));
  });
});

describe("two-way flows", () => {
  const readOnly = defineConnector({
    ...testConnector.spec,
    id: "read-only",
    entities: { customer: { read: unused } },
  });
  const head = `version: 1
connections:
  erp: { type: test, url: 'http://erp', token: '12345678' }
  shop: { type: test, url: 'http://shop', token: '12345678' }
  feed: { type: read-only, url: 'http://feed', token: '12345678' }
flows:
`;
  const parse = (flows: string) => parseConfig(head + flows, [testConnector, readOnly], {});
  const issues = (flows: string) =>
    new Map(configError(() => parse(flows)).issues.map((i) => [i.path, i.message]));

  it("takes ownership by side or connection name, a conflict policy, and deletes: ignore by default", () => {
    const { config } = parse(`  people:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay:
      conflict: last-writer-wins
      ownership: { erp: [group, company], target: [addresses] }
`);
    assert.deepEqual(config.flows.people?.twoWay, {
      conflict: "last-writer-wins",
      ownership: { erp: ["group", "company"], target: ["addresses"] },
      deletes: "ignore",
    });
  });

  it("names the flow and the field: unknown field, nested field, field owned twice, unknown side", () => {
    const byPath = issues(`  people:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay:
      conflict: merge
      ownership:
        erp: [group, fax, "addresses.city"]
        shop: [group]
        crm: [phone]
`);
    assert.match(
      byPath.get("flows.people.twoWay.ownership.erp.1") ?? "",
      /customer records have no field "fax" that a side can own; fields: email, firstName/,
    );
    assert.match(
      byPath.get("flows.people.twoWay.ownership.erp.2") ?? "",
      /ownership is per top-level field .*; write addresses/,
    );
    assert.match(
      byPath.get("flows.people.twoWay.ownership.shop.0") ?? "",
      /group is owned by both sides \(erp and shop\)/,
    );
    assert.match(
      byPath.get("flows.people.twoWay.ownership.crm") ?? "",
      /unknown side "crm"; a side is source, target, erp, shop/,
    );
  });

  it("refuses a two-way flow without a policy, with a mapping, or over a connection that cannot write", () => {
    const byPath = issues(`  bare:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
  nopolicy:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay: { ownership: { erp: [group] } }
  mapped:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay: { conflict: hold }
    mapping: { company: { value: ACME } }
  fromfeed:
    direction: two-way
    source: { connection: feed, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay: { conflict: hold, deletes: propagate }
  oneway:
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay: { conflict: hold }
`);
    assert.match(
      byPath.get("flows.bare.twoWay") ?? "",
      /a two-way flow needs twoWay: \{ conflict: merge \| last-writer-wins \| hold/,
    );
    assert.match(
      byPath.get("flows.nopolicy.twoWay.conflict") ?? "",
      /a two-way flow needs a conflict policy: merge, last-writer-wins, hold/,
    );
    assert.match(byPath.get("flows.mapped.mapping") ?? "", /a two-way flow cannot have a mapping yet/);
    assert.match(
      byPath.get("flows.fromfeed.source.connection") ?? "",
      /a two-way flow reads and writes both sides, and a read-only connection cannot write customer records/,
    );
    assert.match(
      byPath.get("flows.fromfeed.twoWay.deletes") ?? "",
      /deletes: propagate needs both sides to report and remove customer records, and feed \(read-only\) does neither, shop \(test\) does neither; use ignore \(got "propagate"\)/,
    );
    assert.match(byPath.get("flows.oneway.twoWay") ?? "", /only a two-way flow has twoWay settings/);
  });

  it("names the flow and the value of a delete policy that is unknown or that a side cannot carry out", () => {
    const deleteOnly = defineConnector({
      ...testConnector.spec,
      id: "delete-only",
      entities: { customer: { read: unused, write: unused, removal: ["delete"] } },
    });
    const archiving = defineConnector({
      ...testConnector.spec,
      id: "archiving",
      entities: { customer: { read: unused, write: unused, removal: ["archive", "delete"] } },
    });
    const yaml = `version: 1
connections:
  erp: { type: archiving, url: 'http://erp', token: '12345678' }
  shop: { type: delete-only, url: 'http://shop', token: '12345678' }
flows:
  purged:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay: { conflict: merge, deletes: purge }
  archived:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay: { conflict: merge, deletes: archive }
`;
    const defs2 = [archiving, deleteOnly];
    const byPath = new Map(
      configError(() => parseConfig(yaml, defs2, {})).issues.map((i) => [i.path, i.message]),
    );
    assert.match(
      byPath.get("flows.purged.twoWay.deletes") ?? "",
      /must be one of propagate, archive, ignore \(got "purge"\)/,
    );
    assert.match(
      byPath.get("flows.archived.twoWay.deletes") ?? "",
      /deletes: archive needs both sides to report and archive customer records, and shop \(delete-only\) can only delete them; use propagate/,
    );
    // propagate archives where a side can and deletes where it cannot: both sides qualify.
    const ok = parseConfig(
      yaml.replace("deletes: purge", "deletes: propagate").replace(/ {2}archived:[\s\S]*$/, ""),
      defs2,
      {},
    );
    assert.equal(ok.config.flows.purged?.twoWay?.deletes, "propagate");
  });
});

it("budgets: daily API calls per connection; a budget for an unknown connection is named", () => {
  const ok = parseConfig(`${VALID}budgets:\n  shop: { callsPerDay: 40000 }\n`, defs, { env, readFile });
  assert.deepEqual(ok.config.budgets, { shop: { callsPerDay: 40000 } });
  assert.deepEqual(parseConfig(VALID, defs, { env, readFile }).config.budgets, {});
  const err = configError(() =>
    parseConfig(`${VALID}budgets:\n  shopp: { callsPerDay: 10 }\n  erp: { callsPerDay: 0 }\n`, defs, {
      env,
      readFile,
    }),
  );
  const byPath = new Map(err.issues.map((i) => [i.path, i.message]));
  assert.match(byPath.get("budgets.shopp") ?? "", /unknown connection; connections: erp, shop/);
  assert.match(byPath.get("budgets.erp.callsPerDay") ?? "", />=1|at least 1|too small/i);
});

describe("two-way product content with the real connectors' definitions", () => {
  const yaml = (
    shop: string,
    ownership = `{ erp: [variants, currency], ${shop}: [description, images] }`,
  ) => `version: 1
connections:
  erp: ${JSON.stringify({ type: "sql", ...sqlContractSettings("sqlite:/tmp/passerelle-never-opened.db") })}
  tryton: { type: tryton, url: "http://erp.test", db: erp, username: admin, password: "\${env:SHOP_TOKEN}" }
  shopify: { type: shopify, shop: demo.myshopify.com, accessToken: "\${env:SHOP_TOKEN}" }
  vendure: { type: vendure, url: "https://shop.example.com", username: passerelle, password: "\${env:SHOP_TOKEN}" }
  woo: { type: woocommerce, url: "https://woo.example.com", consumerKey: "ck_0123456789", consumerSecret: cs_0123456789abcdef }
flows:
  catalogue:
    direction: two-way
    source: { connection: ${shop === "vendure" ? "tryton" : "erp"}, entity: product }
    target: { connection: ${shop}, entity: product }
    twoWay:
      conflict: merge
      ownership: ${ownership}
`;
  const opts = { env: { SHOP_TOKEN: "shpat_0123456789" } };
  const issues = (text: string) =>
    new Map(
      configError(() => parseConfig(text, connectorDefinitions, opts)).issues.map((i) => [i.path, i.message]),
    );

  it("one declaration: the ERP owns variants (prices), the shop owns descriptions and images", () => {
    const { config } = parseConfig(yaml("shopify"), connectorDefinitions, opts);
    assert.deepEqual(config.flows.catalogue?.twoWay?.ownership, {
      erp: ["variants", "currency"],
      shopify: ["description", "images"],
    });
  });

  it("Tryton ⇄ Vendure: the ERP owns what a product is sold by, the shop its description", () => {
    const { config } = parseConfig(
      yaml(
        "vendure",
        "{ tryton: [title, vendor, status, currency, categoryPath, categories, attributes, images, translations, variants, components], vendure: [description] }",
      ),
      connectorDefinitions,
      opts,
    );
    assert.deepEqual(config.flows.catalogue?.twoWay?.ownership?.vendure, ["description"]);
  });

  it("refuses fields Tryton would not write left to the shop or unowned, naming them and the side to give them to", () => {
    // Tryton's product writer sets descriptions only: a Vendure edit of an unowned vendor or images would
    // be dropped there without a word, and Vendure owning a title Tryton never takes is the same loss.
    const byPath = issues(
      yaml(
        "vendure",
        "{ tryton: [status, currency, categoryPath, categories, attributes, variants, components], vendure: [description, title] }",
      ),
    );
    const message = byPath.get("flows.catalogue.twoWay.ownership") ?? [...byPath.values()].join("\n");
    assert.match(
      message,
      /a tryton connection writes only description of product records, so tryton must own every other field.*add to tryton's ownership: title, vendor, images, translations \(and take title from the other side's\)/,
    );
  });

  it("refuses a field a product does not have (stock is the inventory entity), or one owned by both sides", () => {
    const byPath = issues(yaml("vendure", "{ tryton: [variants, stock], vendure: [description, variants] }"));
    const messages = [...byPath.values()].join("\n");
    assert.match(messages, /product records have no field "stock" that a side can own/);
    assert.match(messages, /variants is owned by both sides \(tryton and vendure\)/);
  });

  it("refuses it where a side cannot both read and write products, naming the flow and the side", () => {
    const byPath = issues(yaml("woo"));
    assert.match(
      byPath.get("flows.catalogue.target.connection") ?? "",
      /a two-way flow reads and writes both sides, and a woocommerce connection cannot read product records/,
    );
  });
});

describe("backorder policy", () => {
  it("takes allow or deny on an inventory flow; anything else is an error naming the flow and the value", () => {
    const yaml = `version: 1
connections:
  erp: { type: test, url: 'http://erp', token: '12345678' }
  shop: { type: test, url: 'http://shop', token: '12345678' }
flows:
  stock:
    source: { connection: erp, entity: inventory }
    target: { connection: shop, entity: inventory }
    backorders: sometimes
  products:
    source: { connection: erp, entity: product }
    target: { connection: shop, entity: product }
    backorders: allow
`;
    const byPath = new Map(
      configError(() => parseConfig(yaml, defs, {})).issues.map((i) => [i.path, i.message]),
    );
    assert.match(
      byPath.get("flows.stock.backorders") ?? "",
      /must be one of allow, deny \(got "sometimes"\)/,
    );
    assert.match(
      byPath.get("flows.products.backorders") ?? "",
      /only an inventory flow has a backorder policy; flow products moves product records/,
    );
    const ok = parseConfig(
      yaml.replace("backorders: sometimes", "backorders: allow").replace(/ {2}products:[\s\S]*$/, ""),
      defs,
      {},
    );
    assert.equal(ok.config.flows.stock?.backorders, "allow");
  });
});
