/**
 * The SQL connector from passerelle.yaml through the real CLI, on SQLite files: `passerelle sync` reads the
 * ERP's stock table (a connection with no write settings, so it only ever opens the file read only) and
 * upserts the levels into a warehouse system's table; the row without a SKU is in `passerelle failures` with
 * the reason; the next sync writes nothing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { spawnCli } from "../../../test/e2e/helpers.ts";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "passerelle-sql-cli-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function config(o: { erp: string; wms: string; store: string }): string {
  return `version: 1
store:
  url: sqlite:${o.store}
connections:
  erp-db:
    type: sql
    url: sqlite:${o.erp}
    entities:
      inventory:
        read:
          table: lagerbestand
          cursor: [geaendert_am, artikel, lager]
          where: { aktiv: 1 }
        fields:
          sku: artikel
          location: lager
          onHand: menge
  wms-db:
    type: sql
    url: sqlite:${o.wms}
    entities:
      inventory:
        write:
          table: stock_levels
          key: [sku, location]
          fields:
            sku: sku
            location: location
            on_hand: onHand
            changed_at: updatedAt
flows:
  stock:
    source: { connection: erp-db, entity: inventory }
    target: { connection: wms-db, entity: inventory }
`;
}

test("passerelle sync reads an ERP's stock table and upserts a warehouse system's; the bad row is a failure; the next sync writes nothing", async () => {
  const erp = join(dir, "erp.db");
  const wms = join(dir, "wms.db");
  const e = new Database(erp);
  e.exec(`create table lagerbestand (artikel text not null, lager text not null, menge integer not null, aktiv integer not null, geaendert_am text not null, primary key (artikel, lager));
insert into lagerbestand values ('KAFFEE-500', 'Hauptlager', 40, 1, '2026-11-30T08:00:00Z');
insert into lagerbestand values ('MUESLI-1', 'Hauptlager', 7, 1, '2026-11-30T08:00:01Z');
insert into lagerbestand values ('', 'Hauptlager', 3, 1, '2026-11-30T08:00:02Z');
insert into lagerbestand values ('ALT-1', 'Hauptlager', 9, 0, '2026-11-30T08:00:03Z');`);
  e.close();
  const w = new Database(wms);
  w.exec(
    "create table stock_levels (sku text not null, location text not null, on_hand integer not null, changed_at text, primary key (sku, location))",
  );
  w.close();
  const file = join(dir, "passerelle.yaml");
  writeFileSync(file, config({ erp, wms, store: join(dir, "store.sqlite") }));
  const env = { ...process.env };

  const valid = await spawnCli(["-c", file, "validate"], env);
  assert.equal(valid.code, 0, valid.stderr + valid.stdout);
  // The ERP's tables as passerelle discover finds them: the configured one with its entity, key and cursor.
  const discover = await spawnCli(["-c", file, "discover", "erp-db"], env);
  assert.equal(discover.code, 0, discover.stderr + discover.stdout);
  assert.match(
    discover.stdout,
    /# main\.lagerbestand → inventory\n#\s+key: artikel, lager\n#\s+cursor candidates: geaendert_am, artikel, lager/,
  );

  const sync = await spawnCli(["-c", file, "sync", "stock"], env);
  const check = new Database(wms, { readonly: true });
  const rows = () => check.prepare("select sku, location, on_hand from stock_levels order by sku").all();
  assert.deepEqual(
    rows(),
    [
      { sku: "KAFFEE-500", location: "Hauptlager", on_hand: 40 },
      { sku: "MUESLI-1", location: "Hauptlager", on_hand: 7 },
    ],
    sync.stdout + sync.stderr,
  );

  const failures = await spawnCli(["-c", file, "--json", "failures", "list"], env);
  assert.equal(failures.code, 0, failures.stderr);
  const listed = JSON.parse(failures.stdout) as { errorMessage: string }[];
  assert.equal(listed.length, 1, failures.stdout);
  assert.match(listed[0]?.errorMessage ?? "", /sku/);

  const before = rows();
  const again = await spawnCli(["-c", file, "--json", "sync", "stock"], env);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  const counts = (out: string) =>
    (JSON.parse(out) as { runs: { counts: { created: number; updated: number } }[] }).runs[0]?.counts;
  assert.deepEqual([counts(again.stdout)?.created, counts(again.stdout)?.updated], [0, 0], again.stdout);
  assert.deepEqual(rows(), before);

  // One ERP row changes: that level alone is written.
  const e2 = new Database(erp);
  e2.prepare("update lagerbestand set menge = 41, geaendert_am = ? where artikel = 'KAFFEE-500'").run(
    new Date().toISOString(),
  );
  e2.close();
  const third = await spawnCli(["-c", file, "--json", "sync", "stock"], env);
  assert.deepEqual([counts(third.stdout)?.created, counts(third.stdout)?.updated], [0, 1], third.stdout);
  assert.deepEqual(rows()[0], { sku: "KAFFEE-500", location: "Hauptlager", on_hand: 41 });
  const changed = check.prepare("select changed_at from stock_levels order by sku").all();
  assert.deepEqual(changed[1], { changed_at: "2026-11-30T08:00:01.000Z" }, "the level that did not change");
  check.close();
});
