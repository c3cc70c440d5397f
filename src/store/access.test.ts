/**
 * The management API's part of the store (store/access.ts) on SQLite and PostgreSQL: tokens by hash and
 * revocation, the audit log paged, call counters added up per day, connection and flow, runs paged.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { onPostgres, pgStores } from "../../test/helpers/postgres.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "./index.ts";

function suite(name: string, open: () => Promise<Store>) {
  describe(name, () => {
    test("tokens: found by hash while live, revoked by id or name", async () => {
      const store = await open();
      try {
        const a = store.access();
        const t = await a.createToken({ name: "ci", role: "operator", hash: "h1" });
        await a.createToken({ name: "dash", role: "viewer", hash: "h2" });
        assert.equal((await a.tokenByHash("h1"))?.id, t.id);
        assert.equal(await a.tokenByHash("nope"), null);
        await a.touchToken(t.id);
        assert.ok((await a.tokenByHash("h1"))?.lastUsedAt);
        assert.equal((await a.revokeToken(String(t.id))).length, 1);
        assert.equal(await a.tokenByHash("h1"), null);
        assert.equal((await a.revokeToken(String(t.id))).length, 0, "already revoked");
        assert.equal((await a.revokeToken("dash"))[0]?.name, "dash");
        assert.deepEqual(
          (await a.listTokens()).map((x) => [x.name, x.role, x.revokedAt !== null]),
          [
            ["ci", "operator", true],
            ["dash", "viewer", true],
          ],
        );
        await assert.rejects(a.createToken({ name: "x", role: "root" as never, hash: "h3" }));
      } finally {
        await store.close();
      }
    });

    test("audit log: newest first, paged by id", async () => {
      const store = await open();
      try {
        const a = store.access();
        for (let i = 1; i <= 3; i++)
          await a.audit({
            tokenId: i,
            actor: `t${i}`,
            role: "operator",
            action: "failures.retry",
            target: `failure ${i}`,
            outcome: "ok",
          });
        const first = await a.listAudit({ limit: 2 });
        assert.deepEqual(
          first.map((e) => e.target),
          ["failure 3", "failure 2"],
        );
        const next = await a.listAudit({ limit: 2, before: first[1]?.id ?? 0 });
        assert.deepEqual(
          next.map((e) => e.target),
          ["failure 1"],
        );
      } finally {
        await store.close();
      }
    });

    test("call counters add up per day, connection and flow", async () => {
      const store = await open();
      try {
        const a = store.access();
        await a.addCalls(
          [
            { connection: "shopify", flow: "products", calls: 3 },
            { connection: "odoo", flow: "products", calls: 0 },
          ],
          "2026-01-01",
        );
        await a.addCalls([{ connection: "shopify", flow: "products", calls: 4 }], "2026-01-01");
        await a.addCalls([{ connection: "shopify", flow: "orders", calls: 5 }], "2026-01-02");
        assert.deepEqual(await a.calls({ sinceDay: "2026-01-01" }), [
          { day: "2026-01-02", connection: "shopify", flow: "orders", calls: 5 },
          { day: "2026-01-01", connection: "shopify", flow: "products", calls: 7 },
        ]);
        assert.deepEqual(await a.calls({ sinceDay: "2026-01-02", connection: "odoo" }), []);
      } finally {
        await store.close();
      }
    });

    test("keys by the number after their system prefix, LIKE wildcards taken literally", async () => {
      const store = await open();
      try {
        const run = await store.startRun("orders", "sync");
        const link = (key: string, id: string) => ({
          entity: "order" as const,
          key,
          system: "odoo",
          externalId: id,
          lastHash: null,
          version: null,
        });
        await store.commitPage({
          flow: "orders",
          runId: run.id,
          links: [link("shopify:#1001", "1"), link("shopify:#10011", "2"), link("shopify:1_1", "3")],
          events: [],
          failures: [],
          resolvedKeys: [],
          completedIntents: [],
          counts: {},
        });
        const a = store.access();
        assert.deepEqual(await a.keysNumbered("order", "#1001"), ["shopify:#1001"]);
        assert.deepEqual(await a.keysNumbered("order", "1_1"), ["shopify:1_1"]);
        assert.deepEqual(await a.keysNumbered("order", "1%1"), []);
        assert.deepEqual(await a.keysNumbered("product", "#1001"), []);
      } finally {
        await store.close();
      }
    });

    test("runs paged newest first, one run by id, queue depth", async () => {
      const store = await open();
      try {
        const a = store.access();
        const ids: number[] = [];
        for (let i = 0; i < 3; i++)
          ids.push((await store.startRun(i === 1 ? "orders" : "products", "sync")).id);
        assert.deepEqual(
          (await a.listRuns({ limit: 2 })).map((r) => r.id),
          [ids[2], ids[1]],
        );
        assert.deepEqual(
          (await a.listRuns({ limit: 2, before: ids[1] ?? 0 })).map((r) => r.id),
          [ids[0]],
        );
        assert.deepEqual(
          (await a.listRuns({ flow: "orders", limit: 5 })).map((r) => r.id),
          [ids[1]],
        );
        assert.equal((await a.getRun(ids[0] ?? 0))?.flow, "products");
        assert.equal(await a.getRun(999_999), null);
        assert.deepEqual([...(await a.queueDepth())], []);
      } finally {
        await store.close();
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "passerelle-access-"));
let n = 0;
after(() => rmSync(dir, { recursive: true, force: true }));
suite("access store on SQLite", async () => {
  const store = await openStore(`sqlite:${join(dir, `s${++n}.db`)}`);
  await store.migrate();
  return store;
});

const pg = pgStores("access");
await onPostgres("access store on PostgreSQL", () => {
  after(() => pg.cleanup());
  suite("access store on PostgreSQL", () => pg.open());
});
