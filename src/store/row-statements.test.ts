/**
 * Statements reused by shape bind each call's own values, in the right columns, on SQLite and PostgreSQL;
 * a shape whose values do not line up with Kysely's is built anew every time.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { onPostgres, pgStores } from "../../test/helpers/postgres.ts";
import type { PageCommit, Store } from "../ports/store.ts";
import { openStore } from "./index.ts";
import { KyselyStore } from "./kysely-store.ts";
import { executeRows } from "./row-statements.ts";

interface Backend {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "passerelle-rows-"));
      dirs.push(dir);
      const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
      await store.migrate();
      return store;
    },
    async cleanup() {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

function kysely(store: Store): KyselyStore {
  assert.ok(store instanceof KyselyStore);
  return store;
}

function suite(name: string, backend: () => Backend): void {
  describe(name, () => {
    const b = backend();
    after(() => b.cleanup());

    test("pages of the same size store each page's own links and events", async () => {
      const store = await b.open();
      try {
        const run = await store.startRun("products", "sync");
        for (const round of ["a", "b"]) {
          await store.commitPage({
            flow: "products",
            runId: run.id,
            links: ["K1", "K2", "K3"].map((key, i) => ({
              entity: "product" as const,
              key: `${round}-${key}`,
              system: "shop",
              externalId: `${round}-ext-${i}`,
              lastHash: i === 1 ? null : `${round}-hash-${i}`,
              version: `2025-01-0${i + 1}T00:00:00.000Z`,
            })),
            events: ["K1", "K2", "K3"].map((key, i) => ({
              entity: "product" as const,
              key: `${round}-${key}`,
              system: "shop",
              externalId: i === 2 ? null : `${round}-ext-${i}`,
              kind: "created" as const,
              message: i === 0 ? `${round} first` : null,
              detail: { round, i },
            })),
            failures: [],
            resolvedKeys: [],
            completedIntents: [],
            counts: { created: 3 },
          });
        }
        for (const round of ["a", "b"]) {
          const links = await store.getLinks("product", "shop", [
            `${round}-K1`,
            `${round}-K2`,
            `${round}-K3`,
          ]);
          assert.deepEqual(
            [...links.values()].map((l) => [l.key, l.externalId, l.lastHash, l.version]).sort(),
            [
              [`${round}-K1`, `${round}-ext-0`, `${round}-hash-0`, "2025-01-01T00:00:00.000Z"],
              [`${round}-K2`, `${round}-ext-1`, null, "2025-01-02T00:00:00.000Z"],
              [`${round}-K3`, `${round}-ext-2`, `${round}-hash-2`, "2025-01-03T00:00:00.000Z"],
            ],
          );
          for (const [i, key] of ["K1", "K2", "K3"].entries()) {
            const [e] = await store.trace("product", `${round}-${key}`);
            assert.ok(e);
            assert.deepEqual(
              [e.runId, e.flow, e.system, e.externalId, e.kind, e.message, e.detail],
              [
                run.id,
                "products",
                "shop",
                i === 2 ? null : `${round}-ext-${i}`,
                "created",
                i === 0 ? `${round} first` : null,
                { round, i },
              ],
            );
          }
        }
      } finally {
        await store.close();
      }
    });

    test("intents recorded in batches of the same size come back with their own keys", async () => {
      const store = await b.open();
      try {
        const first = await store.recordIntents(
          ["A", "B"].map((key) => ({
            flow: "f",
            entity: "product",
            key,
            system: "shop",
            externalRef: `ref-${key}`,
          })),
        );
        const second = await store.recordIntents(
          ["C", "D"].map((key) => ({
            flow: "f",
            entity: "product",
            key,
            system: "shop",
            externalRef: `ref-${key}`,
          })),
        );
        assert.deepEqual(
          [...first, ...second].map((i) => [i.key, i.externalRef]),
          [
            ["A", "ref-A"],
            ["B", "ref-B"],
            ["C", "ref-C"],
            ["D", "ref-D"],
          ],
        );
        assert.deepEqual(
          (await store.pendingIntents("f")).map((i) => i.key),
          ["A", "B", "C", "D"],
        );
      } finally {
        await store.close();
      }
    });

    test("look-ups of the same size bind each call's own entity and system, in each store, after a reopen", async () => {
      // The look-ups' SQL text is kept per shape and database (row-statements.ts `head`): two stores open
      // at once (on PostgreSQL, two schemas) and a store opened after another closed must each read their
      // own links, for whichever entity and system the call names.
      const seed = async (store: Store, tag: string) => {
        const run = await store.startRun("products", "sync");
        await store.commitPage({
          flow: "products",
          runId: run.id,
          links: ["odoo", "shop"].flatMap((system) =>
            ["K1", "K2"].map((key) => ({
              entity: "product" as const,
              key,
              system,
              externalId: `${tag}-${system}-${key}`,
              lastHash: null,
              version: null,
            })),
          ),
          events: [],
          failures: [],
          resolvedKeys: [],
          completedIntents: [],
          counts: {},
        });
      };
      const check = async (store: Store, tag: string) => {
        for (const system of ["odoo", "shop"]) {
          const byKey = await store.getLinks("product", system, ["K1", "K2"]);
          assert.deepEqual([...byKey.entries()].map(([k, l]) => [k, l.system, l.externalId]).sort(), [
            ["K1", system, `${tag}-${system}-K1`],
            ["K2", system, `${tag}-${system}-K2`],
          ]);
          const byId = await store.linksByExternalIds("product", system, [
            `${tag}-${system}-K2`,
            `${tag}-${system}-K1`,
          ]);
          assert.deepEqual([...byId.values()].map((l) => l.key).sort(), ["K1", "K2"]);
        }
        // Another entity with the same number of keys: nothing (the entity is bound, not kept in the text).
        assert.equal((await store.getLinks("price", "shop", ["K1", "K2"])).size, 0);
      };
      const first = await b.open();
      const second = await b.open();
      try {
        await seed(first, "one");
        await seed(second, "two");
        await check(first, "one");
        await check(second, "two");
        await check(first, "one");
      } finally {
        await first.close();
        await second.close();
      }
      const third = await b.open();
      try {
        await seed(third, "three");
        await check(third, "three");
      } finally {
        await third.close();
      }
    });

    test("a page resolves the live (open or retrying) failures of its own flow only", async () => {
      const store = await b.open();
      try {
        const run = await store.startRun("products", "sync");
        const commit = (flow: string, over: Partial<PageCommit>) =>
          store.commitPage({
            flow,
            runId: run.id,
            links: [],
            events: [],
            failures: [],
            resolvedKeys: [],
            completedIntents: [],
            counts: {},
            ...over,
          });
        const failure = (flow: string, key: string) => ({
          flow,
          entity: "product" as const,
          key,
          sourceSystem: "odoo",
          sourceId: `src-${key}`,
          sourcePayload: null,
          mappedPayload: null,
          errorKind: "data",
          errorMessage: "bad",
          errorDetail: null,
        });
        await commit("products", { failures: [failure("products", "K1"), failure("products", "K5")] });
        await commit("prices", { failures: [failure("prices", "K1"), failure("prices", "K2")] });
        const id = async (flow: string, key: string) =>
          (await store.listFailures({ flow })).find((f) => f.key === key)?.id as number;
        const status = async (flow: string, key: string) =>
          (await store.getFailure(await id(flow, key)))?.status;
        // A retry in flight: still live, so a success of the record resolves it.
        await store.updateFailure(await id("products", "K1"), { status: "retrying" });

        // A flow with no live failure of its own resolves nothing, whatever its keys.
        await commit("stock", { resolvedKeys: ["K1", "K2"] });
        assert.equal(await status("products", "K1"), "retrying");
        assert.equal(await status("prices", "K1"), "open");

        await commit("products", { resolvedKeys: ["K1", "K1", "K2"] });
        assert.equal(await status("products", "K1"), "resolved");
        assert.equal(await status("prices", "K1"), "open");
        // Pages with the same number of keys: each binds its own keys and flow.
        await commit("products", { resolvedKeys: ["K7"] });
        assert.equal(await status("products", "K5"), "open");
        await commit("prices", { resolvedKeys: ["K2"] });
        await commit("prices", { resolvedKeys: ["K9"] });
        assert.equal(await status("prices", "K2"), "resolved");
        assert.equal(await status("prices", "K1"), "open");
        await commit("prices", { resolvedKeys: ["K1"] });
        assert.equal(await status("prices", "K1"), "resolved");
        // A flow whose only live failure is being retried resolves it too.
        await commit("stock", { failures: [failure("stock", "K3")] });
        await store.updateFailure(await id("stock", "K3"), { status: "retrying" });
        await commit("stock", { resolvedKeys: ["K3"] });
        assert.equal(await status("stock", "K3"), "resolved");
        const resolved = (await store.trace("product", "K1")).filter((e) => e.kind === "resolved");
        assert.deepEqual(resolved.map((e) => e.flow).sort(), ["prices", "products"]);
      } finally {
        await store.close();
      }
    });

    test("a shape is built once; one whose values do not line up is built every time and stays correct", async () => {
      const store = await b.open();
      try {
        const db = kysely(store).db;
        const insert = (
          rows: { flow: string; id: string }[],
          order: "right" | "wrong",
          built: { n: number },
        ) =>
          executeRows(
            db,
            `test cursors ${order}`,
            rows,
            (r) => (order === "right" ? [r.flow, r.id, "2025", "now"] : [r.id, r.flow, "2025", "now"]),
            () => {
              built.n++;
              return db.insertInto("cursors").values(
                rows.map((r) => ({
                  flow: r.flow,
                  updated_at_cursor: r.id,
                  id_cursor: "2025",
                  committed_at: "now",
                })),
              );
            },
          );
        const right = { n: 0 };
        await insert([{ flow: "r1", id: "1" }], "right", right);
        await insert([{ flow: "r2", id: "2" }], "right", right);
        assert.equal(right.n, 1);
        const wrong = { n: 0 };
        await insert([{ flow: "w1", id: "3" }], "wrong", wrong);
        await insert([{ flow: "w2", id: "4" }], "wrong", wrong);
        assert.equal(wrong.n, 2);
        const rows = await db
          .selectFrom("cursors")
          .select(["flow", "updated_at_cursor"])
          .orderBy("flow")
          .execute();
        assert.deepEqual(
          rows.map((r) => [r.flow, r.updated_at_cursor]),
          [
            ["r1", "1"],
            ["r2", "2"],
            ["w1", "3"],
            ["w2", "4"],
          ],
        );
      } finally {
        await store.close();
      }
    });
  });
}

suite("row statements on SQLite", sqliteBackend);
await onPostgres("row statements on PostgreSQL", () =>
  suite("row statements on PostgreSQL", () => pgStores("rows")),
);
