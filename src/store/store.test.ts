/**
 * One suite, run against SQLite (a temp file per test) and PostgreSQL (a fresh schema per test, all
 * dropped at the end). PostgreSQL comes from PASSERELLE_TEST_PG; when it cannot be reached the PG half
 * is skipped with a message, unless CI is set, where it fails.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import { onPostgres, pgStores } from "../../test/helpers/postgres.ts";
import { ENTITIES, type EntityName } from "../core/model.ts";
import type { NewFailure, PageCommit, Store } from "../ports/store.ts";
import { maskUrl, openStore } from "./index.ts";
import { KyselyStore } from "./kysely-store.ts";
import { migrationProvider } from "./migrations/index.ts";

/** A clock that moves one second per reading, so "oldest first" and "last failed at" are checkable. */
function steppingClock(): () => Date {
  let t = Date.parse("2025-03-01T00:00:00.000Z");
  return () => {
    t += 1000;
    return new Date(t);
  };
}

function page(runId: number, over: Partial<PageCommit> = {}): PageCommit {
  return {
    flow: "products",
    runId,
    links: [],
    events: [],
    failures: [],
    resolvedKeys: [],
    completedIntents: [],
    counts: {},
    ...over,
  };
}

function failure(key: string, over: Partial<NewFailure> = {}): NewFailure {
  return {
    flow: "products",
    entity: "product",
    key,
    sourceSystem: "odoo",
    sourceId: `src-${key}`,
    sourcePayload: { default_code: key, list_price: 12.5, tags: ["a", "b"] },
    mappedPayload: null,
    errorKind: "data",
    errorMessage: "title is required",
    errorDetail: { field: "title" },
    ...over,
  };
}

interface Backend {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-store-test-"));
  let n = 0;
  return {
    async open() {
      n += 1;
      // A nested folder that does not exist yet: openStore must create it.
      const store = await openStore(`sqlite:${join(dir, `t${n}`, "store.db")}`, { now: steppingClock() });
      await store.migrate();
      return store;
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function storeSuite(name: string, backend: Backend): void {
  describe(name, () => {
    const opened: Store[] = [];
    const fresh = async (): Promise<Store> => {
      const s = await backend.open();
      opened.push(s);
      return s;
    };
    after(async () => {
      for (const s of opened) await s.close();
      await backend.cleanup();
    });

    test("webhook addresses: remembered once per connection and address, forgotten one or all", async () => {
      const store = await fresh();
      await store.rememberWebhookAddress("shop", "https://a.example/webhooks/shop");
      await store.rememberWebhookAddress("shop", "https://b.example/webhooks/shop");
      await store.rememberWebhookAddress("erp", "https://a.example/webhooks/erp");
      await store.rememberWebhookAddress("shop", "https://a.example/webhooks/shop"); // again: refreshed
      const shop = await store.webhookAddresses("shop");
      assert.deepEqual(shop.map((r) => r.address).sort(), [
        "https://a.example/webhooks/shop",
        "https://b.example/webhooks/shop",
      ]);
      assert.equal((await store.webhookAddresses()).length, 3);
      assert.equal(await store.forgetWebhookAddresses("shop", "https://b.example/webhooks/shop"), 1);
      assert.equal(await store.forgetWebhookAddresses("shop", "https://nowhere.example/"), 0);
      assert.deepEqual(
        (await store.webhookAddresses("shop")).map((r) => r.address),
        ["https://a.example/webhooks/shop"],
      );
      assert.equal(await store.forgetWebhookAddresses("erp"), 1);
      assert.deepEqual(
        (await store.webhookAddresses()).map((r) => r.connection),
        ["shop"],
      );
    });

    test("migrate twice is a no-op that keeps the data", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      await store.commitPage(
        page(run.id, {
          links: [
            {
              entity: "product",
              key: "SKU1",
              system: "shop",
              externalId: "g1",
              lastHash: "h",
              version: null,
            },
          ],
        }),
      );
      await store.migrate();
      assert.ok(store instanceof KyselyStore);
      const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db);
      const expected = Object.keys(await migrationProvider("sqlite").getMigrations()).sort();
      assert.deepEqual(applied.rows.map((r) => r.name).sort(), expected);
      assert.equal((await store.getLinks("product", "shop", ["SKU1"])).get("SKU1")?.externalId, "g1");
    });

    test("categories are an entity of the store (migration 0010): links, lineage, failures and intents", async () => {
      const store = await fresh();
      const run = await store.startRun("categories", "sync");
      const [intent] = await store.recordIntents([
        { flow: "categories", entity: "category", key: "12", system: "shop", externalRef: "12" },
      ]);
      assert.ok(intent);
      await store.commitPage(
        page(run.id, {
          flow: "categories",
          links: [
            { entity: "category", key: "12", system: "shop", externalId: "c7", lastHash: "h", version: null },
          ],
          events: [
            {
              entity: "category",
              key: "12",
              system: "shop",
              externalId: "c7",
              kind: "created",
              message: null,
              detail: null,
            },
          ],
          failures: [failure("13", { flow: "categories", entity: "category" })],
          completedIntents: [intent.id],
        }),
      );
      assert.equal((await store.getLinks("category", "shop", ["12"])).get("12")?.externalId, "c7");
      assert.deepEqual(
        (await store.trace("category", "12")).map((e) => e.kind),
        ["created"],
      );
      assert.deepEqual(
        (await store.listFailures({ flow: "categories" })).map((f) => [f.entity, f.key]),
        [["category", "13"]],
      );
      assert.deepEqual(await store.pendingIntents("categories"), []);
    });

    test("refunds are an entity of the store (migration 0011): links, lineage, failures and intents", async () => {
      const store = await fresh();
      const run = await store.startRun("refunds", "sync");
      const [intent] = await store.recordIntents([
        {
          flow: "refunds",
          entity: "refund",
          key: "shop:refund:12",
          system: "shop",
          externalRef: "shop:refund:12",
        },
      ]);
      assert.ok(intent);
      await store.commitPage(
        page(run.id, {
          flow: "refunds",
          links: [
            {
              entity: "refund",
              key: "shop:refund:12",
              system: "shop",
              externalId: "c7",
              lastHash: "h",
              version: null,
            },
          ],
          events: [
            {
              entity: "refund",
              key: "shop:refund:12",
              system: "shop",
              externalId: "c7",
              kind: "created",
              message: null,
              detail: null,
            },
          ],
          failures: [failure("shop:refund:13", { flow: "refunds", entity: "refund" })],
          completedIntents: [intent.id],
        }),
      );
      assert.equal(
        (await store.getLinks("refund", "shop", ["shop:refund:12"])).get("shop:refund:12")?.externalId,
        "c7",
      );
      assert.deepEqual(
        (await store.trace("refund", "shop:refund:12")).map((e) => e.kind),
        ["created"],
      );
      assert.deepEqual(
        (await store.listFailures({ flow: "refunds" })).map((f) => [f.entity, f.key]),
        [["refund", "shop:refund:13"]],
      );
      assert.deepEqual(await store.pendingIntents("refunds"), []);
    });

    test("two-way state and side cursors commit with the page, and are replaced by later pages", async () => {
      const store = await fresh();
      const run = await store.startRun("people", "sync");
      const state = {
        base: { key: "ann@example.com", email: "ann@example.com", lastName: "Smith" },
        held: false,
        a: { lastHash: "h1", version: "2026-01-01T00:00:01Z", seenHash: "h1" },
        b: null,
      };
      await store.commitPage(
        page(run.id, {
          flow: "people",
          cursors: [
            { name: "people:erp", cursor: { updatedAt: "2026-01-01T00:00:01Z", id: "7" } },
            { name: "people:shop", cursor: { updatedAt: "2026-01-01T00:00:02Z", id: "9" } },
          ],
          twoWayStates: [{ entity: "customer", key: "ann@example.com", state }],
        }),
      );
      assert.deepEqual(await store.getCursor("people:shop"), { updatedAt: "2026-01-01T00:00:02Z", id: "9" });
      assert.equal(await store.getCursor("people"), null);
      assert.deepEqual(
        (await store.twoWayStates("people", ["ann@example.com", "bob@example.com"])).get("ann@example.com"),
        state,
      );
      const held = { ...state, held: true };
      await store.commitPage(
        page(run.id, {
          flow: "people",
          twoWayStates: [{ entity: "customer", key: "ann@example.com", state: held }],
        }),
      );
      const after = await store.twoWayStates("people", ["ann@example.com"]);
      assert.deepEqual([...after.values()], [held]);
      assert.equal((await store.twoWayStates("other", ["ann@example.com"])).size, 0);
      // Paged in key order, one flow's only (the delete sweep reads them so).
      await store.commitPage(
        page(run.id, {
          flow: "people",
          twoWayStates: ["cy@example.com", "bob@example.com"].map((key) => ({
            entity: "customer" as const,
            key,
            state,
          })),
        }),
      );
      const first = await store.twoWayStatePage("people", null, 2);
      assert.deepEqual(
        first.map((p) => p.key),
        ["ann@example.com", "bob@example.com"],
      );
      assert.deepEqual(first[0]?.state, held);
      const rest = await store.twoWayStatePage("people", "bob@example.com", 2);
      assert.deepEqual(
        rest.map((p) => p.key),
        ["cy@example.com"],
      );
      assert.deepEqual(await store.twoWayStatePage("other", null, 2), []);
    });

    test("accepts every entity of the canonical model", async () => {
      const store = await fresh();
      const run = await store.startRun("all", "sync");
      await store.commitPage(
        page(run.id, {
          flow: "all",
          links: ENTITIES.map((entity) => ({
            entity,
            key: "k",
            system: "shop",
            externalId: `x-${entity}`,
            lastHash: null,
            version: null,
          })),
        }),
      );
      for (const entity of ENTITIES) {
        assert.equal((await store.linksForKey(entity, "k")).length, 1, entity);
      }
    });

    test("links upsert by (entity, key, system) and keep one external id per record", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      await store.commitPage(
        page(run.id, {
          links: [
            {
              entity: "product",
              key: "SKU1",
              system: "shop",
              externalId: "g1",
              lastHash: "h1",
              version: "v1",
            },
            {
              entity: "product",
              key: "SKU1",
              system: "odoo",
              externalId: "17",
              lastHash: "h1",
              version: "v1",
            },
            {
              entity: "product",
              key: "SKU2",
              system: "shop",
              externalId: "g2",
              lastHash: "h2",
              version: "v1",
            },
            // Same record twice in one page: the last one wins.
            {
              entity: "product",
              key: "SKU2",
              system: "shop",
              externalId: "g2",
              lastHash: "h2b",
              version: "v2",
            },
          ],
        }),
      );
      const first = await store.getLinks("product", "shop", ["SKU1", "SKU2", "SKU9"]);
      assert.deepEqual([...first.keys()].sort(), ["SKU1", "SKU2"]);
      assert.equal(first.get("SKU2")?.lastHash, "h2b");
      assert.equal(first.get("SKU2")?.version, "v2");
      assert.equal((await store.getLinks("product", "shop", [])).size, 0);

      await store.commitPage(
        page(run.id, {
          links: [
            {
              entity: "product",
              key: "SKU1",
              system: "shop",
              externalId: "g1",
              lastHash: "h9",
              version: "v9",
            },
          ],
        }),
      );
      const updated = await store.findLinkByExternalId("product", "shop", "g1");
      assert.equal(updated?.key, "SKU1");
      assert.equal(updated?.lastHash, "h9");
      assert.ok(updated !== null && updated.updatedAt > (first.get("SKU1")?.updatedAt ?? ""));
      assert.equal(await store.findLinkByExternalId("product", "odoo", "g1"), null);
      assert.equal(await store.findLinkByExternalId("customer", "shop", "g1"), null);
      assert.deepEqual(
        (await store.linksForKey("product", "SKU1")).map((l) => [l.system, l.externalId]),
        [
          ["odoo", "17"],
          ["shop", "g1"],
        ],
      );

      // The same shop id cannot belong to two products.
      await assert.rejects(
        store.commitPage(
          page(run.id, {
            links: [
              {
                entity: "product",
                key: "SKU3",
                system: "shop",
                externalId: "g1",
                lastHash: null,
                version: null,
              },
            ],
          }),
        ),
        (err: Error) => /upsert links/.test(err.message),
      );
      assert.equal((await store.findLinkByExternalId("product", "shop", "g1"))?.key, "SKU1");
      assert.equal((await store.getLinks("product", "shop", ["SKU3"])).size, 0);
    });

    test("a failing page commits nothing: links, cursor, events and counts stay put", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      await store.commitPage(
        page(run.id, {
          cursor: { updatedAt: "2025-01-01T00:00:00Z", id: "1" },
          links: [
            { entity: "product", key: "A", system: "shop", externalId: "gA", lastHash: "h1", version: null },
          ],
          counts: { read: 1, created: 1 },
        }),
      );
      // Bypass the type on purpose, as a buggy caller would at run time: the CHECK on entity must fire
      // after the links and the cursor of this page were already written inside the transaction.
      const bad = Object.assign(failure("C"), { entity: "not-an-entity" });
      await assert.rejects(
        store.commitPage(
          page(run.id, {
            cursor: { updatedAt: "2025-01-02T00:00:00Z", id: "9" },
            links: [
              {
                entity: "product",
                key: "A",
                system: "shop",
                externalId: "gA",
                lastHash: "h2",
                version: null,
              },
              {
                entity: "product",
                key: "B",
                system: "shop",
                externalId: "gB",
                lastHash: "h2",
                version: null,
              },
            ],
            events: [
              {
                entity: "product",
                key: "B",
                system: "shop",
                externalId: "gB",
                kind: "created",
                message: null,
                detail: null,
              },
            ],
            failures: [bad],
            counts: { read: 3, created: 1, updated: 1, failed: 1 },
          }),
        ),
        (err: Error) => /failed_records/.test(err.message),
      );
      assert.deepEqual(await store.getCursor("products"), { updatedAt: "2025-01-01T00:00:00Z", id: "1" });
      const links = await store.getLinks("product", "shop", ["A", "B"]);
      assert.deepEqual([...links.keys()], ["A"]);
      assert.equal(links.get("A")?.lastHash, "h1");
      assert.deepEqual(await store.trace("product", "B"), []);
      assert.deepEqual(await store.listFailures(), []);
      const [r] = await store.lastRuns("products");
      assert.deepEqual(r?.counts, { read: 1, created: 1, updated: 0, skipped: 0, failed: 0, calls: 0 });
    });

    test("cursor: null when absent, moves with pages, stays when a page omits it, reset deletes", async () => {
      const store = await fresh();
      assert.equal(await store.getCursor("products"), null);
      const run = await store.startRun("products", "sync");
      await store.commitPage(page(run.id, { cursor: { updatedAt: "2025-01-01T00:00:00Z", id: "5" } }));
      await store.commitPage(page(run.id, { cursor: { updatedAt: "2025-01-01T00:00:00Z", id: "7" } }));
      await store.commitPage(page(run.id));
      assert.deepEqual(await store.getCursor("products"), { updatedAt: "2025-01-01T00:00:00Z", id: "7" });
      assert.equal(await store.getCursor("orders"), null);
      await store.resetCursor("products");
      assert.equal(await store.getCursor("products"), null);
    });

    test("a repeated failure updates the open one; resolving closes it with a lineage event", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      await store.commitPage(page(run.id, { failures: [failure("K1"), failure("K2")] }));
      const [f2, f1] = await store.listFailures({ flow: "products" });
      assert.equal(f1?.key, "K1");
      assert.equal(f2?.key, "K2");
      assert.equal(f1?.attempts, 1);
      assert.equal(f1?.status, "open");
      assert.deepEqual(f1?.sourcePayload, { default_code: "K1", list_price: 12.5, tags: ["a", "b"] });
      assert.equal(f1?.mappedPayload, null);
      assert.deepEqual(f1?.errorDetail, { field: "title" });

      await store.updateFailure(f1!.id, { status: "retrying" });
      await store.commitPage(
        page(run.id, {
          failures: [
            failure("K1", {
              errorKind: "permanent",
              errorMessage: "SKU taken",
              mappedPayload: { key: "K1" },
            }),
          ],
        }),
      );
      const again = await store.getFailure(f1!.id);
      assert.equal(again?.attempts, 2);
      assert.equal(again?.status, "open");
      assert.equal(again?.errorKind, "permanent");
      assert.equal(again?.errorMessage, "SKU taken");
      assert.deepEqual(again?.mappedPayload, { key: "K1" });
      assert.equal(again?.firstFailedAt, f1?.firstFailedAt);
      assert.ok(again !== null && again.lastFailedAt > again.firstFailedAt);
      assert.equal((await store.listFailures()).length, 2);

      await store.commitPage(page(run.id, { resolvedKeys: ["K1", "NOT-FAILED"] }));
      assert.equal((await store.getFailure(f1!.id))?.status, "resolved");
      assert.equal((await store.getFailure(f2!.id))?.status, "open");
      const resolved = (await store.trace("product", "K1")).filter((e) => e.kind === "resolved");
      assert.equal(resolved.length, 1);
      assert.equal(resolved[0]?.system, "odoo");
      assert.equal(resolved[0]?.externalId, "src-K1");
      assert.equal(resolved[0]?.runId, run.id);
      assert.deepEqual(await store.trace("product", "NOT-FAILED"), []);

      // After resolution a new failure of the same record is a new inbox line.
      await store.commitPage(page(run.id, { failures: [failure("K1")] }));
      const open = await store.listFailures({ status: "open" });
      assert.deepEqual(open.map((f) => [f.key, f.attempts]).sort(), [
        ["K1", 1],
        ["K2", 1],
      ]);
      assert.notEqual(open.find((f) => f.key === "K1")?.id, f1?.id);
    });

    test("the database refuses a second live failure for one (flow, key)", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      await store.commitPage(page(run.id, { failures: [failure("K1")] }));
      const [f] = await store.listFailures();
      await store.updateFailure(f!.id, { status: "skipped", reason: "discontinued" });
      await store.commitPage(page(run.id, { failures: [failure("K1")] }));
      await assert.rejects(
        store.updateFailure(f!.id, { status: "open" }),
        /updateFailure: update failed_records/,
      );
      assert.equal((await store.getFailure(f!.id))?.reason, "discontinued");
    });

    test("trace finds a record's lineage by key or by any of its external ids, oldest first", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      const ev = (key: string, system: string, externalId: string | null, kind: "read" | "created") => ({
        entity: "product" as const,
        key,
        system,
        externalId,
        kind,
        message: null,
        detail: { hash: `${key}-${kind}` },
      });
      await store.commitPage(
        page(run.id, {
          links: [
            {
              entity: "product",
              key: "SKU1",
              system: "odoo",
              externalId: "17",
              lastHash: null,
              version: null,
            },
            {
              entity: "product",
              key: "SKU1",
              system: "shop",
              externalId: "g1",
              lastHash: null,
              version: null,
            },
          ],
          events: [ev("SKU1", "odoo", "17", "read"), ev("SKU2", "odoo", "18", "read")],
        }),
      );
      await store.commitPage(page(run.id, { events: [ev("SKU1", "shop", "g1", "created")] }));
      // A webhook that only knew the shop's id, before its key was resolved.
      await store.appendEvents([
        { ...ev("?", "shop", "g1", "read"), runId: null, flow: "webhooks", message: "products/update" },
        { ...ev("?", "odoo", "g1", "read"), runId: null, flow: "webhooks", message: "another system's g1" },
      ]);
      await store.appendEvents([
        { ...ev("SKU1", "shop", "g1", "read"), entity: "customer", runId: null, flow: "customers" },
      ]);

      const byKey = await store.trace("product", "SKU1");
      assert.deepEqual(
        byKey.map((e) => [e.key, e.system, e.kind]),
        [
          ["SKU1", "odoo", "read"],
          ["SKU1", "shop", "created"],
          ["?", "shop", "read"],
        ],
      );
      assert.deepEqual(byKey[0]?.detail, { hash: "SKU1-read" });
      assert.equal(byKey[0]?.flow, "products");
      assert.equal(byKey[2]?.runId, null);
      assert.equal(byKey[2]?.message, "products/update");
      assert.ok(byKey.every((e, i) => i === 0 || e.at >= byKey[i - 1]!.at));

      const byShopId = await store.trace("product", "g1");
      assert.deepEqual(
        byShopId.map((e) => [e.key, e.system, e.kind]),
        [
          ["SKU1", "odoo", "read"],
          ["SKU1", "shop", "created"],
          ["?", "shop", "read"],
          ["?", "odoo", "read"],
        ],
      );
      assert.deepEqual(
        (await store.trace("product", "17")).map((e) => e.key),
        ["SKU1", "SKU1"],
      );
      assert.equal((await store.trace("customer", "SKU1")).length, 1);
      assert.deepEqual(await store.trace("product", "nothing"), []);
    });

    test("runs count what their pages did", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      assert.equal(run.status, "running");
      assert.equal(run.finishedAt, null);
      assert.deepEqual(run.counts, { read: 0, created: 0, updated: 0, skipped: 0, failed: 0, calls: 0 });
      await store.commitPage(
        page(run.id, { counts: { read: 500, created: 3, updated: 7, skipped: 490, calls: 2 } }),
      );
      await store.commitPage(page(run.id, { counts: { read: 20, failed: 1, calls: 1 } }));
      await store.finishRun(run.id, "partial", "1 record failed");
      const other = await store.startRun("orders", "plan");
      const [last] = await store.lastRuns("products");
      assert.deepEqual(last?.counts, {
        read: 520,
        created: 3,
        updated: 7,
        skipped: 490,
        failed: 1,
        calls: 3,
      });
      assert.equal(last?.status, "partial");
      assert.equal(last?.error, "1 record failed");
      assert.ok(last?.finishedAt !== null && (last?.finishedAt ?? "") > run.startedAt);
      assert.deepEqual(
        (await store.lastRuns()).map((r) => r.id),
        [other.id, run.id],
      );
      assert.equal((await store.lastRuns(undefined, 1)).length, 1);
      assert.equal(other.mode, "plan");

      await assert.rejects(store.commitPage(page(999_999)), /run 999999 does not exist/);
      await assert.rejects(store.commitPage(page(run.id, { counts: { read: -1 } })), /counts\.read/);
      await assert.rejects(store.finishRun(999_999, "failed"), /run 999999 does not exist/);
    });

    test("intents stay pending until a page completes them", async () => {
      const store = await fresh();
      const run = await store.startRun("orders", "sync");
      const recorded = await store.recordIntents([
        { flow: "orders", entity: "order", key: "shop:1001", system: "odoo", externalRef: "#1001" },
        { flow: "orders", entity: "order", key: "shop:1002", system: "odoo", externalRef: "#1002" },
        { flow: "refunds", entity: "invoice", key: "shop:R1", system: "odoo", externalRef: "R1" },
      ]);
      assert.deepEqual(
        recorded.map((i) => i.externalRef),
        ["#1001", "#1002", "R1"],
      );
      assert.ok(recorded[0]!.id < recorded[1]!.id);
      assert.deepEqual(await store.recordIntents([]), []);
      assert.deepEqual(
        (await store.pendingIntents("orders")).map((i) => i.key),
        ["shop:1001", "shop:1002"],
      );
      await store.commitPage(page(run.id, { flow: "orders", completedIntents: [recorded[0]!.id] }));
      const pending = await store.pendingIntents("orders");
      assert.deepEqual(pending, [recorded[1]]);
      assert.equal((await store.pendingIntents("refunds")).length, 1);
    });

    test("listFailures filters by flow, status and error kind, newest first, with a limit", async () => {
      const store = await fresh();
      const run = await store.startRun("products", "sync");
      await store.commitPage(
        page(run.id, { failures: [failure("P1"), failure("P2", { errorKind: "permanent" })] }),
      );
      await store.commitPage(
        page(run.id, {
          flow: "orders",
          failures: [failure("O1", { flow: "orders", entity: "order", errorKind: "permanent" })],
        }),
      );
      const [p1] = await store.listFailures({ flow: "products", errorKind: "data" });
      assert.equal(p1?.key, "P1");
      await store.updateFailure(p1!.id, {
        status: "skipped",
        reason: "test product",
        mappedPayload: { x: 1 },
      });
      const skipped = await store.getFailure(p1!.id);
      assert.equal(skipped?.reason, "test product");
      assert.deepEqual(skipped?.mappedPayload, { x: 1 });

      const keys = async (f: Parameters<Store["listFailures"]>[0]) =>
        (await store.listFailures(f)).map((r) => r.key);
      assert.deepEqual(await keys({}), ["O1", "P2", "P1"]);
      assert.deepEqual(await keys({ flow: "products" }), ["P2", "P1"]);
      assert.deepEqual(await keys({ status: "open" }), ["O1", "P2"]);
      assert.deepEqual(await keys({ status: "skipped" }), ["P1"]);
      assert.deepEqual(await keys({ errorKind: "permanent" }), ["O1", "P2"]);
      assert.deepEqual(await keys({ flow: "products", status: "open", errorKind: "permanent" }), ["P2"]);
      assert.deepEqual(await keys({ limit: 1 }), ["O1"]);
      assert.equal(await store.getFailure(987_654), null);
      await assert.rejects(store.updateFailure(987_654, { reason: "x" }), /failure 987654 does not exist/);
    });

    test("pages larger than one statement chunk are committed whole", async () => {
      const store = await fresh();
      const run = await store.startRun("stock", "sync");
      const keys = Array.from({ length: 1234 }, (_, i) => `SKU${i}@WH`);
      const entity: EntityName = "inventory";
      await store.commitPage(
        page(run.id, {
          flow: "stock",
          links: keys.map((key, i) => ({
            entity,
            key,
            system: "shop",
            externalId: `inv${i}`,
            lastHash: "h",
            version: null,
          })),
          events: keys.map((key) => ({
            entity,
            key,
            system: "shop",
            externalId: null,
            kind: "updated",
            message: null,
            detail: null,
          })),
          failures: keys.slice(0, 700).map((key) => failure(key, { flow: "stock", entity })),
        }),
      );
      assert.equal((await store.getLinks(entity, "shop", keys)).size, 1234);
      assert.equal((await store.listFailures({ flow: "stock", limit: 5000 })).length, 700);
      await store.commitPage(page(run.id, { flow: "stock", resolvedKeys: keys }));
      assert.equal(
        (await store.listFailures({ flow: "stock", status: "resolved", limit: 5000 })).length,
        700,
      );
      assert.equal((await store.trace(entity, "SKU1233@WH")).length, 1);
    });
  });
}

describe("openStore", () => {
  test("rejects an unknown scheme, naming the URL with its password masked", async () => {
    await assert.rejects(openStore("mysql://app:s3cret@db:3306/shop"), (err: Error) => {
      assert.match(err.message, /unknown scheme/);
      assert.match(err.message, /mysql:\/\/app:\*\*\*@db:3306\/shop/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
  });

  test("rejects an unsafe PostgreSQL schema name", async () => {
    await assert.rejects(openStore("postgres://u:pw@h/db?schema=a;drop"), (err: Error) => {
      assert.match(err.message, /schema "a;drop"/);
      assert.doesNotMatch(err.message, /:pw@/);
      return true;
    });
  });

  test("masks passwords in any URL form", () => {
    assert.equal(maskUrl("postgres://u:pw@h:5432/db?schema=x"), "postgres://u:***@h:5432/db?schema=x");
    assert.equal(maskUrl("sqlite:./data/p.db"), "sqlite:./data/p.db");
    assert.equal(maskUrl("weird://u:p@ss@h"), "weird://u:***@h");
  });

  test("opens an in-memory SQLite store", async () => {
    const store = await openStore("sqlite::memory:");
    try {
      await store.migrate();
      assert.equal(await store.getCursor("x"), null);
    } finally {
      await store.close();
    }
  });
});

storeSuite("store on SQLite", sqliteBackend());

await onPostgres("store on PostgreSQL", () =>
  storeSuite(
    "store on PostgreSQL",
    pgStores("passerelle_test", () => ({ now: steppingClock() })),
  ),
);
