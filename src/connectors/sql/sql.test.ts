/**
 * The SQL connector's own rules: reads never write (a read-only session on every dialect, and a connection
 * without write settings never opens another), names checked against the catalogue, keyset paging through
 * rows sharing one timestamp, a fixed filter, staging tables, discover, and no password in any error.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { createTestDb, type Kind, type TestDb, types, unavailable } from "../../../test/fixtures/sql-db.ts";
import { SyncError } from "../../core/errors.ts";
import type { InventoryLevel } from "../../core/model.ts";
import { SqlConfig } from "./config.ts";
import { sqlConnector } from "./index.ts";
import type { SqlRow } from "./stream.ts";

async function erp(db: TestDb): Promise<void> {
  const t = types(db.kind);
  await db.exec(
    `create table stock (sku varchar(40) not null, location varchar(40) not null, qty integer not null, kind varchar(10) not null, updated_at ${t.stamp}, primary key (sku, location))`,
  );
  for (let i = 1; i <= 7; i++) {
    // Every row at the same instant: only the key orders them.
    await db.query("insert into stock (sku, location, qty, kind, updated_at) values (?, ?, ?, ?, ?)", [
      `SKU-${i}`,
      "Lager",
      i,
      i % 3 === 0 ? "service" : "goods",
      db.kind === "mysql" ? "2026-11-01 08:00:00.000" : "2026-11-01T08:00:00.000Z",
    ]);
  }
}

const readOnly = (url: string) =>
  SqlConfig.parse({
    url,
    entities: {
      inventory: {
        read: { table: "stock", cursor: ["updated_at"] },
        fields: { sku: "sku", location: "location", onHand: "qty" },
      },
    },
  });

async function readAll(c: ReturnType<typeof sqlConnector.create>, pageSize: number): Promise<SqlRow[][]> {
  const pages: SqlRow[][] = [];
  const stream = c.streams.inventory;
  assert.ok(stream);
  for await (const page of stream.list({ since: null, signpost: new Date().toISOString(), pageSize })) {
    pages.push(page as unknown as SqlRow[]);
  }
  return pages;
}

for (const kind of ["sqlite", "postgres", "mysql"] as Kind[]) {
  const why = kind === "sqlite" ? null : await unavailable(kind);
  describe(`sql on ${kind}: reads never write`, { skip: why ?? false }, () => {
    let db: TestDb;
    before(async () => {
      db = await createTestDb(kind, "passerelle_sql_rules");
      await erp(db);
    });
    after(async () => {
      await db?.drop();
    });

    test("a connection without write settings reads through a session that refuses writes, and opens no other", async () => {
      const c = sqlConnector.create("erp-ro", readOnly(db.url));
      try {
        await c.check();
        const pages = await readAll(c, 3);
        assert.deepEqual(
          pages.map((p) => p.length),
          [3, 3, 1],
        );
        await assert.rejects(
          sql`insert into stock (sku, location, qty, kind) values ('X', 'Lager', 1, 'goods')`.execute(
            c.client.reader,
          ),
          "the read session accepted an INSERT",
        );
        await assert.rejects(
          sql`update stock set qty = 0`.execute(c.client.reader),
          "the read session accepted an UPDATE",
        );
        assert.throws(
          () => c.client.writer,
          (e: unknown) => e instanceof SyncError && e.kind === "config" && /read only/.test(e.message),
        );
        const [row] = await db.query("select count(*) as n, sum(qty) as q from stock");
        assert.deepEqual([Number(row?.n), Number(row?.q)], [7, 28], "the table changed");
      } finally {
        await c.close();
      }
    });

    test("a staging table as documented gets one row per change of a record (A, B, A again: three); the same record again adds none", async () => {
      const schema = kind === "postgres" ? "erp" : kind === "mysql" ? "passerelle_sql_rules" : "main";
      const ddl = {
        postgres: `create schema erp;
create table erp.inbound (id bigserial primary key, entity text not null, record_key text not null, payload jsonb not null, content_hash char(64) not null, received_at timestamptz not null)`,
        mysql: `create table inbound (id bigint auto_increment primary key, entity text not null, record_key text not null, payload longtext not null, content_hash char(64) not null, received_at datetime(3) not null)`,
        sqlite: `create table inbound (id integer primary key autoincrement, entity text not null, record_key text not null, payload text not null, content_hash char(64) not null, received_at text not null)`,
      };
      await db.exec(ddl[kind]);
      const c = sqlConnector.create(
        "erp",
        SqlConfig.parse({
          url: db.url,
          entities: { inventory: { write: { staging: `${schema}.inbound` } } },
        }),
      );
      const level = (onHand: number): InventoryLevel => ({
        key: "SKU-9@Lager",
        source: "shop",
        sourceId: "9",
        updatedAt: "2026-12-01T10:00:00.000Z",
        sku: "SKU-9",
        location: "Lager",
        onHand,
        reserved: 0,
        safetyStock: 0,
        available: onHand,
      });
      const writer = c.writers.inventory;
      assert.ok(writer);
      const write = async (r: InventoryLevel) => {
        const [res] = await writer.upsert([{ key: r.key, record: r, targetId: null, externalRef: r.key }], {
          resolve: async () => null,
        });
        assert.ok(res?.ok, JSON.stringify(res));
        return res.action;
      };
      try {
        assert.equal(await writer.findByExternalRef("SKU-9@Lager", level(1)), null);
        assert.deepEqual(
          [
            await write(level(5)),
            await write(level(5)),
            await write(level(6)),
            await write(level(5)),
            await write(level(5)),
          ],
          ["created", "unchanged", "updated", "updated", "unchanged"],
        );
        assert.equal(await writer.findByExternalRef("SKU-9@Lager", level(5)), "SKU-9@Lager");
        const rows = await db.query(`select entity, record_key, payload from ${schema}.inbound order by id`);
        assert.deepEqual(
          rows.map((r) => [
            r.entity,
            r.record_key,
            (typeof r.payload === "string"
              ? (JSON.parse(r.payload) as InventoryLevel)
              : (r.payload as InventoryLevel)
            ).onHand,
          ]),
          [
            ["inventory", "SKU-9@Lager", 5],
            ["inventory", "SKU-9@Lager", 6],
            ["inventory", "SKU-9@Lager", 5],
          ],
        );
        assert.equal(c.writes(), 3);
      } finally {
        await c.close();
      }
    });

    test("rows sharing one timestamp are each read once through keyset pages, and the fixed filter holds", async () => {
      const settings = readOnly(db.url);
      const c = sqlConnector.create(
        "erp-filter",
        SqlConfig.parse({
          ...settings,
          entities: {
            inventory: {
              ...settings.entities.inventory,
              read: { table: "stock", cursor: ["updated_at"], where: { kind: "goods" } },
            },
          },
        }),
      );
      try {
        const rows = (await readAll(c, 2)).flat();
        const ids = rows.map((r) => r.id);
        // A timestamp column reaches the mapping as ISO 8601 in UTC, whatever the database prints.
        assert.equal(rows[0]?.row.updated_at, "2026-11-01T08:00:00.000Z");
        assert.deepEqual(
          ids,
          [1, 2, 4, 5, 7].map((i) => JSON.stringify([`SKU-${i}`, "Lager"])),
        );
        assert.equal(
          await c.streams.inventory?.get(JSON.stringify(["SKU-3", "Lager"])),
          null,
          "a row the filter leaves out",
        );
      } finally {
        await c.close();
      }
    });
  });
}

describe("sql on SQLite: settings, staging, discover, errors", () => {
  let db: TestDb;
  before(async () => {
    db = await createTestDb("sqlite", "passerelle-sql-rules");
    await erp(db);
    await db.exec(`create table inbound (id integer primary key autoincrement, entity text not null, record_key text not null, payload text not null, content_hash text not null, received_at text not null);
create table half_staging (entity text, record_key text);
create view goods as select sku, location, qty, updated_at from stock where kind = 'goods'`);
  });
  after(async () => {
    await db?.drop();
  });

  test("an unknown column or table is a config error naming the connection, the setting, the name and the near names", async () => {
    const column = sqlConnector.create(
      "erp",
      SqlConfig.parse({
        url: db.url,
        entities: { inventory: { read: { table: "stock", cursor: ["updatedat"] } } },
      }),
    );
    await assert.rejects(column.check(), (e: unknown) => {
      assert.ok(e instanceof SyncError && e.kind === "config", String(e));
      assert.equal(
        e.message,
        'erp: entities.inventory.read.cursor: main.stock has no column "updatedat"; near: updated_at',
      );
      return true;
    });
    await column.close();
    const table = sqlConnector.create(
      "erp",
      SqlConfig.parse({
        url: db.url,
        entities: { order: { write: { table: "stok", key: ["sku"], fields: { sku: "number" } } } },
      }),
    );
    await assert.rejects(
      table.check(),
      /erp: entities\.order\.write\.table: no table or view "stok" in the database; near: .*stock/,
    );
    await table.close();
    const view = sqlConnector.create(
      "erp",
      SqlConfig.parse({
        url: db.url,
        entities: { inventory: { read: { table: "goods", cursor: ["updated_at"] } } },
      }),
    );
    await assert.rejects(view.check(), /entities\.inventory\.read\.key: main\.goods has no primary key/);
    await view.close();
  });

  test("a staging table gets one row per change of a record; the same record again adds none", async () => {
    const c = sqlConnector.create(
      "erp",
      SqlConfig.parse({ url: db.url, entities: { inventory: { write: { staging: "inbound" } } } }),
    );
    const level = (onHand: number): InventoryLevel => ({
      key: "SKU-9@Lager",
      source: "shop",
      sourceId: "9",
      updatedAt: "2026-12-01T10:00:00.000Z",
      sku: "SKU-9",
      location: "Lager",
      onHand,
      reserved: 0,
      safetyStock: 0,
      available: onHand,
    });
    const writer = c.writers.inventory;
    assert.ok(writer);
    const write = (r: InventoryLevel) =>
      writer.upsert([{ key: r.key, record: r, targetId: null, externalRef: r.key }], {
        resolve: async () => null,
      });
    try {
      assert.equal(await writer.findByExternalRef("SKU-9@Lager", level(1)), null);
      const [first] = await write(level(5));
      assert.ok(first?.ok && first.action === "created", JSON.stringify(first));
      const [same] = await write(level(5));
      assert.ok(same?.ok && same.action === "unchanged", JSON.stringify(same));
      const [changed] = await write(level(6));
      assert.ok(changed?.ok && changed.action === "updated", JSON.stringify(changed));
      assert.equal(await writer.findByExternalRef("SKU-9@Lager", level(6)), "SKU-9@Lager");
      const rows = await db.query("select entity, record_key, payload from inbound order by id");
      assert.deepEqual(
        rows.map((r) => [r.entity, r.record_key, (JSON.parse(String(r.payload)) as InventoryLevel).onHand]),
        [
          ["inventory", "SKU-9@Lager", 5],
          ["inventory", "SKU-9@Lager", 6],
        ],
      );
      assert.equal(c.writes(), 2);
    } finally {
      await c.close();
    }
    const half = sqlConnector.create(
      "erp",
      SqlConfig.parse({ url: db.url, entities: { inventory: { write: { staging: "half_staging" } } } }),
    );
    await assert.rejects(
      half.check(),
      /entities\.inventory\.write\.staging: main\.half_staging has no column "payload"/,
    );
    await half.close();
  });

  test("discover lists tables and views with their columns, keys, cursors and the entity configured on them", async () => {
    const c = sqlConnector.create("erp", readOnly(db.url));
    try {
      const shapes = await c.discover?.();
      assert.ok(shapes);
      const stock = shapes.find((s) => s.name === "main.stock");
      assert.deepEqual(stock, {
        name: "main.stock",
        entity: "inventory",
        fields: [
          { name: "sku", type: "varchar(40)", nullable: false },
          { name: "location", type: "varchar(40)", nullable: false },
          { name: "qty", type: "INTEGER", nullable: false },
          { name: "kind", type: "varchar(10)", nullable: false },
          { name: "updated_at", type: "TEXT", nullable: false },
        ],
        key: ["sku", "location"],
        cursor: ["updated_at", "sku", "location"],
      });
      const goods = shapes.find((s) => s.name === "main.goods");
      assert.deepEqual(goods?.notes?.[0], "a view: give read.key, the columns that identify a row");
      assert.equal(goods?.key, undefined);
      assert.equal(goods?.entity, undefined);
      const inbound = shapes.find((s) => s.name === "main.inbound");
      assert.deepEqual(inbound?.notes, [
        "no column tells a row's last change (updated_at): it cannot be read incrementally",
      ]);
    } finally {
      await c.close();
    }
  });

  test("a flow reading or writing an entity the settings do not read or write is refused when passerelle.yaml loads", () => {
    const config = SqlConfig.parse({
      url: db.url,
      entities: { inventory: { read: { table: "stock", cursor: ["updated_at"] } } },
    });
    assert.deepEqual(sqlConnector.checkUse?.(config, { reads: ["inventory"], writes: [] }), []);
    assert.deepEqual(
      sqlConnector
        .checkUse?.(config, { reads: ["product"], writes: ["inventory"] })
        .map((p) => p.path.join(".")),
      ["entities.product", "entities.inventory.write"],
    );
  });

  test("a database error never shows the connection's password", () => {
    const c = sqlConnector.create(
      "erp",
      SqlConfig.parse({
        ...readOnly("postgres://erp:Sup3r-Secret-pw@127.0.0.1:5432/erp"),
        entities: readOnly(db.url).entities,
      }),
    );
    const err = c.client.error(
      Object.assign(
        new Error(
          'connect to postgres://erp:Sup3r-Secret-pw@db:5432 failed; password "Sup3r-Secret-pw" refused',
        ),
        {
          code: "28P01",
        },
      ),
    );
    assert.equal(err.kind, "config");
    assert.ok(!err.message.includes("Sup3r-Secret-pw"), err.message);
  });
});
