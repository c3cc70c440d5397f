/**
 * The configurable REST connector beyond the shared contract: every credential style against the test
 * API, the OAuth2 token kept until it expires and fetched again once on a 401, a 429's Retry-After, the
 * pace, the incremental filter as sent, records that cannot be mapped failing alone, settings checked with
 * the field and the value named, secrets in no message, and discovery from a vendor's OpenAPI document.
 */
import assert from "node:assert/strict";
import { dirname, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type ApiAuth, type RestApi, seededApi } from "../../../test/fixtures/rest-api.ts";
import { CLIENT_ID, CLIENT_SECRET, restSettings } from "../../../test/fixtures/rest-contract.ts";
import { parseConfig } from "../../config/load.ts";
import { type Cursor, compareCursors } from "../../core/cursor.ts";
import { ConfigError, SyncError } from "../../core/errors.ts";
import type { Customer, EntityName } from "../../core/model.ts";
import type { Stream } from "../../ports/connector.ts";
import { connectorDefinitions } from "../index.ts";
import { createClient } from "./client.ts";
import { RestConfig, type RestConfigInput } from "./config.ts";
import { rest } from "./index.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const SPECS = process.env.PASSERELLE_SPECS ?? resolve(ROOT, "..", "shared", "specs");

async function readAll(stream: Stream, pageSize = 5, since: { updatedAt: string; id: string } | null = null) {
  const out: unknown[] = [];
  for await (const page of stream.list({ since, signpost: "2999-01-01T00:00:00Z", pageSize }))
    out.push(...page);
  return out;
}

async function failure(p: Promise<unknown>): Promise<SyncError> {
  const e = await p.then(
    () => assert.fail("succeeded"),
    (err: unknown) => err,
  );
  assert.ok(e instanceof SyncError, `expected a SyncError, got ${String(e)}`);
  return e;
}

const connect = (api: RestApi, auth: RestConfigInput["auth"], over: Partial<RestConfigInput> = {}) =>
  rest.create("crm", RestConfig.parse({ ...restSettings(api.url, auth), ...over }));

describe("rest: credentials", () => {
  const cases: [string, ApiAuth, RestConfigInput["auth"], RestConfigInput["auth"], string][] = [
    [
      "bearer",
      { type: "bearer", token: "tok-Abc123xyz" },
      { type: "bearer", token: "tok-Abc123xyz" },
      { type: "bearer", token: "tok-Wrong999" },
      "tok-Wrong999",
    ],
    [
      "basic",
      { type: "basic", username: "shop", password: "pa55-Word!" },
      { type: "basic", username: "shop", password: "pa55-Word!" },
      { type: "basic", username: "shop", password: "wr0ng-Pass!" },
      "wr0ng-Pass!",
    ],
    [
      "API key header",
      { type: "apiKey", header: "X-Api-Key", value: "key-7f3e9a" },
      { type: "apiKey", header: "X-Api-Key", value: "key-7f3e9a" },
      { type: "apiKey", header: "X-Api-Key", value: "key-bad000" },
      "key-bad000",
    ],
    [
      "API key query",
      { type: "apiKey", query: "api_key", value: "key-7f3e9a" },
      { type: "apiKey", query: "api_key", value: "key-7f3e9a" },
      { type: "apiKey", query: "api_key", value: "key-bad000" },
      "key-bad000",
    ],
  ];
  for (const [name, server, good, bad, secret] of cases) {
    test(`${name}: reads every page; wrong credentials are a config error without the secret`, async () => {
      const api = await seededApi(server);
      try {
        const c = connect(api, good);
        await c.check();
        assert.equal((await readAll(c.streams.customer as Stream)).length, 12);
        const err = await failure(connect(api, bad).check());
        assert.equal(err.kind, "config");
        assert.ok(!JSON.stringify({ m: err.message, d: err.details }).includes(secret), err.message);
      } finally {
        await api.stop();
      }
    });
  }

  test("a refusal that echoes the request's headers shows no credential", async () => {
    const api = await seededApi({ type: "basic", username: "shop", password: "pa55-Word!" });
    try {
      const c = connect(
        api,
        { type: "basic", username: "shop", password: "pa55-Word!" },
        { checkPath: "/echo" },
      );
      const err = await failure(c.check());
      assert.equal(err.kind, "permanent");
      const shown = JSON.stringify({ m: err.message, d: err.details });
      assert.ok(shown.includes("bad request"), shown);
      for (const s of ["pa55-Word!", Buffer.from("shop:pa55-Word!").toString("base64")]) {
        assert.ok(!shown.includes(s), `${s} shown in ${shown}`);
      }
    } finally {
      await api.stop();
    }
  });
});

describe("rest: OAuth2 client credentials", () => {
  let api: RestApi;
  const oauth = () => ({
    type: "oauth2" as const,
    tokenUrl: `${api.url}/oauth/token`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
  });
  before(async () => {
    api = await seededApi({ type: "oauth2", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  });
  after(() => api.stop());

  test("one token for many calls, a new one once it expires, and once after a 401", async () => {
    let clock = Date.now();
    const config = RestConfig.parse(restSettings(api.url, oauth()));
    const c = rest.assemble("crm", createClient("crm", config, { now: () => clock }));
    const issued = api.tokensIssued;
    await readAll(c.streams.customer as Stream, 3);
    await readAll(c.streams.product as Stream, 3);
    assert.equal(api.tokensIssued - issued, 1, "one token for every call");
    clock += 3600 * 1000; // the token's hour is over
    await c.check();
    assert.equal(api.tokensIssued - issued, 2, "a new token once the first expired");
    api.revokeTokens(); // the server forgot it before its time
    assert.equal((await readAll(c.streams.customer as Stream, 50)).length >= 12, true);
    assert.equal(api.tokensIssued - issued, 3, "one new token after the 401");
  });

  test("a token the API refuses right away is asked for once, then a config error", async () => {
    const config = RestConfig.parse(restSettings(api.url, oauth()));
    const c = rest.create("crm", config);
    await c.check();
    const issued = api.tokensIssued;
    api.refuseTokens = true;
    try {
      const err = await failure(c.check());
      assert.equal(err.kind, "config");
      assert.equal(api.tokensIssued - issued, 1, "asked again once, not in a loop");
    } finally {
      api.refuseTokens = false;
    }
  });

  test("a wrong client secret is a config error naming the client, never the secret", async () => {
    const c = connect(api, { ...oauth(), clientSecret: "not-the-Secret-42" });
    const err = await failure(c.check());
    assert.equal(err.kind, "config");
    assert.match(err.message, /refused client passerelle/);
    assert.ok(!err.message.includes("not-the-Secret-42"), err.message);
  });

  test("client credentials in the form body work as well as HTTP Basic", async () => {
    const c = connect(api, { ...oauth(), clientAuth: "body" });
    await c.check();
  });
});

describe("rest: reading", () => {
  let api: RestApi;
  const auth = { type: "bearer" as const, token: "tok-Abc123xyz" };
  before(async () => {
    api = await seededApi(auth);
  });
  after(() => api.stop());

  test("the incremental filter is sent a little before the cursor, in the configured format", async () => {
    const c = connect(api, auth);
    const customers = c.streams.customer as Stream;
    const all = await readAll(customers, 100);
    const sixth = all[5] as Record<string, unknown>;
    const since = { updatedAt: customers.updatedAtOf(sixth), id: customers.idOf(sixth) };
    api.calls.length = 0;
    const later = await readAll(customers, 100, since);
    const sent = (n = 0) => new URL(api.calls[n] ?? "", api.url).searchParams.get("updated_since");
    assert.equal(sent(), new Date(Date.parse(since.updatedAt) - 1000).toISOString(), "iso, 1 s before");
    // The overlap's records come back from the API; those before the cursor's time are not listed.
    assert.deepEqual(
      later.map((r) => customers.idOf(r)),
      all.slice(5).map((r) => customers.idOf(r)),
    );

    const products = c.streams.product as Stream;
    const p = (await readAll(products, 100))[3] as Record<string, unknown>;
    api.calls.length = 0;
    await readAll(products, 100, { updatedAt: products.updatedAtOf(p), id: products.idOf(p) });
    assert.equal(sent(), String(Math.floor(Date.parse(products.updatedAtOf(p)) / 1000) - 1), "epoch seconds");

    const prices = c.streams.price as Stream;
    const q = (await readAll(prices, 100))[3] as Record<string, unknown>;
    api.calls.length = 0;
    await readAll(prices, 100, { updatedAt: prices.updatedAtOf(q), id: prices.idOf(q) });
    assert.match(sent() ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, "iso-local: no zone, whole seconds");
  });

  test("sorted: records of one instant come in id order whatever order the API gives them", async () => {
    const c = connect(api, auth);
    const products = c.streams.product as Stream;
    api.tiesReversed = true;
    try {
      const pages: unknown[][] = [];
      for await (const page of products.list({
        since: null,
        signpost: "2999-01-01T00:00:00Z",
        pageSize: 5,
      })) {
        assert.ok(page.length <= 5, `a page of ${page.length}`);
        pages.push(page);
      }
      const cursors = pages.flat().map((r) => ({ updatedAt: products.updatedAtOf(r), id: products.idOf(r) }));
      assert.ok(cursors.length >= 12);
      for (let i = 1; i < cursors.length; i++) {
        assert.ok(
          compareCursors(cursors[i - 1] as Cursor, cursors[i] as Cursor) < 0,
          JSON.stringify(cursors),
        );
      }
    } finally {
      api.tiesReversed = false;
    }
  });

  test("a Link header naming another host is followed on baseUrl's host, credentials never sent there", async () => {
    const c = connect(api, auth);
    api.linkHost = "http://shop.public.invalid";
    try {
      api.calls.length = 0;
      assert.equal((await readAll(c.streams.price as Stream, 5)).length, 12);
      assert.equal(api.calls.filter((s) => s.startsWith("GET /prices")).length, 3);
    } finally {
      api.linkHost = null;
    }
  });

  test("a record that cannot be mapped fails alone, with its id and the reason", async () => {
    api.insert("customers", { email: "neu@example.org", first_name: "Lena", last_name: "Y" });
    const broken = api.insert("customers", { email: "kaputt@example.org", first_name: "Z", last_name: "W" });
    (api.collections.customers?.rows.get(broken) as Record<string, unknown>).updated_at = "gestern";
    const c = rest.create(
      "crm",
      RestConfig.parse({
        ...restSettings(api.url, auth),
        entities: {
          customer: {
            ...restSettings(api.url, auth).entities.customer,
            fields: {
              email: "email",
              lastName: "last_name",
              group: { from: "first_name", map: { Anna: "stammkunde" }, strict: true },
            },
          },
        },
      } as RestConfigInput),
    );
    const stream = c.streams.customer as Stream<EntityName, Record<string, unknown>>;
    const records = (await readAll(stream as Stream, 100)) as Record<string, unknown>[];
    const outcomes = await Promise.all(
      records.map((r) =>
        Promise.resolve()
          .then(() => stream.toCanonical(r))
          .then(
            () => ({ id: r.id, ok: true as const }),
            (e: unknown) => ({ id: r.id, ok: false as const, e }),
          ),
      ),
    );
    const failed = outcomes.filter((o) => !o.ok);
    assert.equal(failed.length, 2, JSON.stringify(failed));
    const byId = new Map(failed.map((f) => [f.id, f.e as SyncError]));
    const time = byId.get(broken);
    assert.ok(time instanceof SyncError && time.kind === "data");
    assert.match(time.message, new RegExp(`customer ${broken}: updated_at holds no time \\("gestern"\\)`));
    const group = [...byId.entries()].find(([id]) => id !== broken)?.[1];
    assert.ok(group instanceof SyncError && group.kind === "data");
    assert.match(group.message, /customer \d+: .*group.*"Lena"/s);
    assert.equal(outcomes.filter((o) => o.ok).length, records.length - 2);
  });

  test("a 429 is rate_limited with its Retry-After; a 5xx retryable", async () => {
    const c = connect(api, auth);
    api.fault = "429";
    try {
      const limited = await failure(c.streams.customer?.get("1") as Promise<unknown>);
      assert.equal(limited.kind, "rate_limited");
      assert.equal(limited.details.retryAfterMs, api.retryAfterS * 1000);
      api.fault = "5xx";
      assert.equal((await failure(readAll(c.streams.product as Stream))).kind, "retryable");
    } finally {
      api.fault = null;
    }
    assert.ok(await c.streams.customer?.get("1"));
  });

  test("rateLimit.concurrency bounds the calls in flight", async () => {
    const c = connect(api, auth, { rateLimit: { concurrency: 1, perSecond: 200 } });
    api.maxInFlight = 0;
    await Promise.all([1, 2, 3, 4, 5, 6].map((id) => c.streams.product?.get(String(id))));
    assert.equal(api.maxInFlight, 1);
  });
});

describe("rest: writing", () => {
  test("a record the rules cannot map fails alone; its siblings are written", async () => {
    const api = await seededApi({ type: "bearer", token: "tok-Abc123xyz" });
    try {
      const settings = restSettings(api.url, { type: "bearer", token: "tok-Abc123xyz" });
      const customer = settings.entities.customer as NonNullable<RestConfigInput["entities"]["customer"]>;
      const c = rest.create(
        "crm",
        RestConfig.parse({
          ...settings,
          entities: {
            customer: {
              ...customer,
              write: {
                ...(customer.write as NonNullable<typeof customer.write>),
                fields: {
                  email: "email",
                  last_name: "lastName",
                  group_id: { from: "group", map: { retail: 1, wholesale: 2 }, strict: true },
                },
              },
            },
          },
        } as RestConfigInput),
      );
      const make = (n: number, group: string): Customer => ({
        key: `w${n}@example.org`,
        source: "t",
        sourceId: String(n),
        updatedAt: new Date().toISOString(),
        email: `w${n}@example.org`,
        lastName: `Weber ${n}`,
        group,
        addresses: [],
      });
      const records = [make(1, "retail"), make(2, "vip"), make(3, "wholesale")];
      const results = await c.writers.customer?.upsert(
        records.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })),
        { resolve: async () => null },
      );
      const byKey = new Map(results?.map((r) => [r.key, r]));
      assert.equal(byKey.get("w1@example.org")?.ok, true);
      assert.equal(byKey.get("w3@example.org")?.ok, true);
      const bad = byKey.get("w2@example.org");
      assert.ok(bad && !bad.ok);
      assert.equal(bad.error.kind, "data");
      assert.match(bad.error.message, /customer w2@example\.org: .*group_id.*"vip"/s);
      assert.equal(api.writes, 2);
    } finally {
      await api.stop();
    }
  });
});

describe("rest: settings", () => {
  const defs = connectorDefinitions;
  const yaml = (connection: string) =>
    [
      "version: 1",
      "connections:",
      "  crm:",
      ...connection
        .trim()
        .split("\n")
        .map((l) => `    ${l}`),
      "flows: {}",
      "",
    ].join("\n");
  const problems = (connection: string, env: Record<string, string> = {}) => {
    try {
      parseConfig(yaml(connection), defs, { env });
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.issues;
    }
    return assert.fail("the settings were accepted");
  };

  test("each bad setting is named with its value", () => {
    const issues = problems(
      `
type: rest
baseUrl: api.example.com
auth:
  type: oauth2
  tokenUrl: /token
  clientId: app
  clientSecret: \${env:SECRET}
entities:
  customer:
    list: { path: customers, pagination: { style: pages } }
    updatedAt: updated_at
    fields: { email: email }
  kunde:
    list: { path: /kunden }
    updatedAt: x
    fields: { email: email }
`,
      { SECRET: "very-Secret-Value-1" },
    );
    const text = JSON.stringify(issues);
    const at = (path: string) => issues.find((i) => i.path === path)?.message ?? "";
    assert.match(at("connections.crm.baseUrl"), /full URL.*api\.example\.com/);
    assert.match(at("connections.crm.auth.tokenUrl"), /token endpoint.s full URL/);
    assert.match(at("connections.crm.entities.customer.list.path"), /starting with \/.*customers/);
    assert.match(at("connections.crm.entities.customer.list.pagination.style"), /page.*pages|pages/);
    assert.match(at("connections.crm.entities.kunde"), /unknown entity "kunde"/);
    assert.ok(!text.includes("very-Secret-Value-1"), text);
  });

  test("a mapping rule that cannot compile names its field and the rule", () => {
    const issues = problems(`
type: rest
baseUrl: http://127.0.0.1:1
entities:
  customer:
    list: { path: /c }
    updatedAt: u
    fields: { email: { expr: "$$$ nope (" } }
`);
    const at = issues.find((i) => i.path === "connections.crm.entities.customer.fields.email");
    assert.match(at?.message ?? JSON.stringify(issues), /JSONata.*nope/);
  });
});

describe("rest: discovery from an OpenAPI document", () => {
  test("BigCommerce's customers v3 contract: paths, records, fields, key and cursor", async () => {
    const c = rest.create(
      "bc",
      RestConfig.parse({
        baseUrl: "https://api.bigcommerce.com/stores/x/v3",
        openapi: resolve(SPECS, "bigcommerce", "customers.v3.yml"),
        entities: {
          customer: {
            list: { path: "/customers", records: "data" },
            updatedAt: "date_modified",
            fields: { email: "email" },
          },
        },
      }),
    );
    const shapes = await (
      c.discover as () => Promise<import("../../ports/discovery.ts").DiscoveredShape[]>
    )();
    const customers = shapes.find((s) => s.name === "GET /customers");
    assert.ok(customers, `found: ${shapes.map((s) => s.name).join(", ")}`);
    assert.equal(customers.entity, "customer");
    assert.deepEqual(customers.key, ["id"]);
    assert.ok(customers.cursor?.includes("date_modified"), JSON.stringify(customers.cursor));
    const field = (n: string) => customers.fields.find((f) => f.name === n);
    assert.equal(field("email")?.type, "string");
    assert.equal(field("date_created")?.type, "date-time");
    assert.equal(field("customer_group_id")?.type, "integer");
    assert.ok(
      customers.notes?.some((n) => n.includes('"data"')),
      JSON.stringify(customers.notes),
    );
    // The addresses list answers its own path.
    assert.ok(shapes.some((s) => s.name === "GET /customers/addresses"));
    // A path answering one object, not a list, is no record shape.
    assert.ok(!shapes.some((s) => s.name === "GET /customers/settings"));
  });

  test("a document that cannot be read is a config error naming it", async () => {
    const c = rest.create(
      "bc",
      RestConfig.parse({
        baseUrl: "https://api.example.com",
        openapi: "/nonexistent/openapi.yaml",
        entities: { customer: { list: { path: "/c" }, updatedAt: "u", fields: { email: "email" } } },
      }),
    );
    const err = await failure((c.discover as () => Promise<unknown>)());
    assert.equal(err.kind, "config");
    assert.match(err.message, /\/nonexistent\/openapi\.yaml/);
  });
});
