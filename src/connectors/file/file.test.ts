/**
 * The file connector driven by the real engine and a real SQLite store, in temporary folders: an ERP's
 * Windows-1252 price export read into a second file connection (JSON Lines out). Each scenario of issue 17:
 * encodings and decimal commas, half-written files, re-uploads, bad rows and a broken XML file.
 */
import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import iconv from "iconv-lite";
import { erpPriceFile, erpSettings, PRICE_FIELDS } from "../../../test/fixtures/file-erp.ts";
import type { Flow } from "../../engine/flow.ts";
import { SyncEngine } from "../../engine/sync.ts";
import type { Store } from "../../ports/store.ts";
import { windowPass } from "../../runtime/passes.ts";
import { openStore } from "../../store/index.ts";
import { createClient } from "./client.ts";
import { FileConfig } from "./config.ts";
import { file } from "./index.ts";

const noSleep = async () => {};

interface Env {
  dir: string;
  inbox: string;
  outbox: string;
  store: Store;
  engine: SyncEngine;
  flow(source?: ReturnType<typeof file.create>): Flow;
  /** Prices written to the target folder, by key. */
  written(): Map<string, { price: string; name: string }>;
  ls(sub?: string): string[];
}

async function setup(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-file-"));
  const inbox = join(dir, "erp");
  const outbox = join(dir, "shop");
  for (const d of [inbox, outbox]) rmSync(d, { recursive: true, force: true });
  const { mkdirSync } = await import("node:fs");
  mkdirSync(inbox);
  mkdirSync(outbox);
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  await store.migrate();
  const target = file.create(
    "shop",
    FileConfig.parse({
      folder: outbox,
      entities: { price: { pattern: "prices-*.jsonl", format: "jsonl", write: { prefix: "prices-" } } },
    }),
  );
  return {
    dir,
    inbox,
    outbox,
    store,
    engine: new SyncEngine(store),
    flow: (source) => ({
      name: "prices",
      entity: "price",
      source: source ?? file.create("erp", FileConfig.parse(erpSettings(inbox))),
      target,
      batchSize: 2,
    }),
    written() {
      const out = new Map<string, { price: string; name: string }>();
      // In the order they were written.
      const files = readdirSync(outbox)
        .filter((n) => n.endsWith(".jsonl"))
        .map((n) => ({ n, at: statSync(join(outbox, n)).mtimeMs }))
        .sort((a, b) => a.at - b.at)
        .map((f) => f.n);
      for (const f of files) {
        for (const line of readFileSync(join(outbox, f), "utf8").split("\n").filter(Boolean)) {
          const p = JSON.parse(line) as { key: string; price: string; priceList: { name: string } };
          out.set(p.key, { price: p.price, name: p.priceList.name });
        }
      }
      return out;
    },
    ls: (sub = "") => {
      const d = join(inbox, sub);
      return existsSync(d)
        ? readdirSync(d, { withFileTypes: true })
            .filter((e) => e.isFile())
            .map((e) => e.name)
            .sort()
        : [];
    },
  };
}

describe("file connector: reading an ERP's price files", () => {
  let env: Env;
  beforeEach(async () => {
    env = await setup();
  });
  afterEach(async () => {
    await env.store.close();
    rmSync(env.dir, { recursive: true, force: true });
  });

  test("a Windows-1252, semicolon-separated price file with decimal commas is imported, names intact", async () => {
    writeFileSync(
      join(env.inbox, "preise-001.csv"),
      erpPriceFile([
        ["SKU-1", "HAENDLER", "Händler Genève", "1.234,56", "EUR"],
        ["SKU-2", "HAENDLER", "Händler Genève", "12,5", "EUR"],
        ["SKU-3", "ENDKUNDE", "Endkunde Zürich", "0,99", "CHF"],
      ]),
    );
    const summary = await env.engine.run(env.flow(), { sleep: noSleep });
    assert.equal(summary.status, "succeeded", summary.error?.message);
    assert.equal(summary.counts.created, 3);
    assert.deepEqual(Object.fromEntries(env.written()), {
      "HAENDLER:SKU-1": { price: "1234.56", name: "Händler Genève" },
      "HAENDLER:SKU-2": { price: "12.5", name: "Händler Genève" },
      "ENDKUNDE:SKU-3": { price: "0.99", name: "Endkunde Zürich" },
    });
    assert.deepEqual(env.ls(), [], "the file left the folder");
    assert.deepEqual(env.ls("processed"), ["preise-001.csv"]);
    // A second run has nothing to read and writes nothing.
    const again = await env.engine.run(env.flow(), { sleep: noSleep });
    assert.equal(again.counts.read, 0);
  });

  test("a file still growing between two looks is not read until it stops", async () => {
    const path = join(env.inbox, "preise-002.csv");
    writeFileSync(path, erpPriceFile([["SKU-1", "HAENDLER", "Händler", "10,00", "EUR"]]));
    let uploading = true;
    const config = FileConfig.parse(erpSettings(env.inbox, { settleMs: 1000 }));
    // The "wait" between the two looks is where the upload goes on.
    const sleep = async () => {
      if (uploading)
        appendFileSync(path, iconv.encode("SKU-2;HAENDLER;Händler;20,00;EUR\r\n", "windows-1252"));
    };
    const source = file.assemble("erp", createClient("erp", config, { sleep }));
    const during = await env.engine.run(env.flow(source));
    assert.equal(during.counts.read, 0, "a file that grew between the looks was read");
    assert.deepEqual(env.ls(), ["preise-002.csv"]);
    uploading = false;
    const after = await env.engine.run(env.flow(source));
    assert.equal(after.counts.created, 2, after.error?.message);
    assert.deepEqual(env.ls("processed"), ["preise-002.csv"]);
  });

  test("with doneMarker, a file is read only once its .done marker is there", async () => {
    const config = FileConfig.parse(erpSettings(env.inbox, { doneMarker: true }));
    const source = file.create("erp", config);
    writeFileSync(
      join(env.inbox, "preise-003.csv"),
      erpPriceFile([["SKU-1", "HAENDLER", "Händler", "10,00", "EUR"]]),
    );
    const before = await env.engine.run(env.flow(source));
    assert.equal(before.counts.read, 0, "read before its .done marker");
    writeFileSync(join(env.inbox, "preise-003.csv.done"), "");
    const after = await env.engine.run(env.flow(source));
    assert.equal(after.counts.created, 1, after.error?.message);
    assert.deepEqual(env.ls(), []);
    assert.deepEqual(env.ls("processed"), ["preise-003.csv", "preise-003.csv.done"]);
  });

  test("a re-uploaded identical file is not processed twice, under its name or another, across restarts", async () => {
    const bytes = erpPriceFile([
      ["SKU-1", "HAENDLER", "Händler", "10,00", "EUR"],
      ["SKU-2", "HAENDLER", "Händler", "20,00", "EUR"],
    ]);
    writeFileSync(join(env.inbox, "preise-004.csv"), bytes);
    const first = await env.engine.run(env.flow());
    assert.equal(first.counts.created, 2);
    const filesOut = readdirSync(env.outbox).length;
    // The process restarts: a new store handle on the same database, new connections.
    await env.store.close();
    env.store = await openStore(`sqlite:${join(env.dir, "store.sqlite")}`);
    env.engine = new SyncEngine(env.store);
    writeFileSync(join(env.inbox, "preise-004.csv"), bytes);
    writeFileSync(join(env.inbox, "preise-005.csv"), bytes);
    const again = await env.engine.run(env.flow());
    assert.equal(again.counts.read, 0, "an identical file was read again");
    assert.equal(readdirSync(env.outbox).length, filesOut, "an identical file made a new delivery");
    assert.deepEqual(env.ls(), []);
    assert.deepEqual(env.ls("processed"), ["preise-004.csv", "preise-004~2.csv", "preise-005.csv"]);
    // A changed file under a known name is new content: read.
    writeFileSync(
      join(env.inbox, "preise-004.csv"),
      erpPriceFile([["SKU-1", "HAENDLER", "Händler", "11,00", "EUR"]]),
    );
    const changed = await env.engine.run(env.flow());
    assert.equal(changed.counts.updated, 1);
    assert.equal(env.written().get("HAENDLER:SKU-1")?.price, "11.00");
  });

  test("a missing column and 1.234,56 in a plain-number column fail with their lines; the other rows go through", async () => {
    const plain = erpSettings(env.inbox);
    plain.entities.price.decimalComma = false;
    plain.entities.price.encoding = "utf-8";
    plain.entities.price.delimiter = ",";
    const source = file.create("erp", FileConfig.parse(plain));
    writeFileSync(
      join(env.inbox, "preise-006.csv"),
      [
        "Artikelnummer,Preisliste,Listenname,Preis,Währung",
        "SKU-1,RETAIL,Retail,10.00,EUR",
        "SKU-2,RETAIL,Retail,20.00",
        "SKU-3,RETAIL,Retail,30.00,EUR",
        'SKU-4,RETAIL,Retail,"1.234,56",EUR',
        'SKU-5,RETAIL,Retail 12" Rabatt,50.00,EUR',
        "",
      ].join("\n"),
    );
    const summary = await env.engine.run(env.flow(source));
    assert.equal(summary.status, "partial");
    assert.equal(summary.counts.created, 3);
    assert.equal(summary.counts.failed, 2);
    assert.deepEqual([...env.written().keys()].sort(), ["RETAIL:SKU-1", "RETAIL:SKU-3", "RETAIL:SKU-5"]);
    assert.equal(env.written().get("RETAIL:SKU-5")?.name, 'Retail 12" Rabatt', "a quote inside a value");
    const failures = (await env.store.listFailures({ flow: "prices" })).sort((a, b) =>
      a.errorMessage.localeCompare(b.errorMessage),
    );
    assert.equal(failures.length, 2);
    assert.match(
      failures[0]?.errorMessage ?? "",
      /^preise-006\.csv line 3: 4 values where the header has 5 columns: "Währung" missing/,
    );
    assert.match(
      failures[1]?.errorMessage ?? "",
      /^preise-006\.csv line 5: column "Preis": "1\.234,56" is not a number written like 1234\.56/,
    );
    assert.equal(failures[0]?.errorKind, "data");
    // Some rows went through: the file is processed, not failed.
    assert.deepEqual(env.ls("processed"), ["preise-006.csv"]);
    assert.deepEqual(env.ls("failed"), []);
  });

  test("a Windows-1252 file read as UTF-8 fails row by row, naming the encoding setting, instead of garbling names", async () => {
    const utf8 = erpSettings(env.inbox);
    utf8.entities.price.encoding = "utf-8";
    const source = file.create("erp", FileConfig.parse(utf8));
    writeFileSync(
      join(env.inbox, "preise-009.csv"),
      erpPriceFile([
        ["SKU-1", "HAENDLER", "Haendler", "1,00", "EUR"],
        ["SKU-2", "HAENDLER", "Händler", "2,00", "EUR"],
      ]),
    );
    const summary = await env.engine.run(env.flow(source));
    // The header itself (Währung) is not UTF-8 either: its column name is garbled, so no row maps.
    assert.equal(summary.counts.created, 0);
    const failures = await env.store.listFailures({ flow: "prices" });
    assert.equal(failures.length, 2);
    for (const f of failures) assert.match(f.errorMessage, /not UTF-8: the file is probably windows-1252/);
    assert.deepEqual(env.ls("failed"), ["preise-009.csv"]);
  });

  test("a broken XML file goes to failed/, its reason and line in the failed-record inbox", async () => {
    const source = file.create(
      "erp",
      FileConfig.parse({
        folder: env.inbox,
        settleMs: 0,
        entities: {
          price: {
            pattern: "*.xml",
            format: "xml",
            recordPath: "Preise.Preis",
            numbers: ["Betrag"],
            fields: { ...PRICE_FIELDS, price: "Betrag", "priceList.currency": { value: "EUR" } },
          },
        },
      }),
    );
    writeFileSync(
      join(env.inbox, "a-good.xml"),
      `<?xml version="1.0"?>\n<Preise>\n  <Preis><Artikelnummer>SKU-1</Artikelnummer><Preisliste>RETAIL</Preisliste><Listenname>Détail</Listenname><Betrag>9.90</Betrag></Preis>\n</Preise>\n`,
    );
    writeFileSync(
      join(env.inbox, "b-broken.xml"),
      `<?xml version="1.0"?>\n<Preise>\n  <Preis><Artikelnummer>SKU-2</Artikelnummer>\n  </Prix>\n</Preise>\n`,
    );
    const summary = await env.engine.run(env.flow(source));
    assert.equal(summary.counts.created, 1);
    assert.equal(summary.counts.failed, 1);
    assert.equal(env.written().get("RETAIL:SKU-1")?.name, "Détail");
    assert.deepEqual(env.ls("failed"), ["b-broken.xml"]);
    assert.deepEqual(env.ls("processed"), ["a-good.xml"]);
    const [failure] = await env.store.listFailures({ flow: "prices" });
    assert.match(failure?.errorMessage ?? "", /^b-broken\.xml line 4: not well-formed XML \(line 4/);
    // The same broken file again: not read, and where its content went before.
    writeFileSync(
      join(env.inbox, "c-broken-again.xml"),
      readFileSync(join(env.inbox, "failed", "b-broken.xml")),
    );
    const again = await env.engine.run(env.flow(source));
    assert.equal(again.counts.read, 0);
    assert.deepEqual(env.ls("failed"), ["b-broken.xml", "c-broken-again.xml"]);
  });

  test("a file is consumed only once every record of it is committed: a run stopped midway reads it again", async () => {
    writeFileSync(
      join(env.inbox, "preise-007.csv"),
      erpPriceFile(
        ["1", "2", "3", "4", "5"].map((n) => [`SKU-${n}`, "HAENDLER", "Händler", `${n},00`, "EUR"]),
      ),
    );
    const source = file.create("erp", FileConfig.parse(erpSettings(env.inbox)));
    const first = await env.engine.run(env.flow(source), { maxPages: 1 });
    assert.equal(first.counts.created, 2);
    assert.deepEqual(env.ls(), ["preise-007.csv"], "a file half committed was moved away");
    const rest = await env.engine.run(env.flow(source));
    assert.equal(rest.counts.created, 3, "the records not yet written");
    assert.equal(rest.counts.skipped, 2, "the records written before are skipped, not written again");
    assert.deepEqual(env.ls("processed"), ["preise-007.csv"]);
    assert.equal(env.written().size, 5);
  });

  test("a CSV broken near its end: the rows before the break go through, the break is a failure with its line", async () => {
    writeFileSync(
      join(env.inbox, "preise-012.csv"),
      Buffer.concat([
        erpPriceFile([
          ["SKU-1", "HAENDLER", "Händler", "1,00", "EUR"],
          ["SKU-2", "HAENDLER", "Händler", "2,00", "EUR"],
        ]),
        Buffer.from('SKU-3;HAENDLER;"never closed;3,00;EUR\r\nSKU-4;HAENDLER;x;4,00;EUR\r\n'),
      ]),
    );
    const summary = await env.engine.run(env.flow());
    assert.equal(summary.counts.created, 2);
    assert.equal(summary.counts.failed, 1);
    const [failure] = await env.store.listFailures({ flow: "prices" });
    assert.match(failure?.errorMessage ?? "", /^preise-012\.csv line \d+: not valid CSV: Quote Not Closed/);
    assert.deepEqual(env.ls("processed"), ["preise-012.csv"]);
  });

  test("a crash after the commit but before the file moved: the next run reads it, writes nothing, moves it", async () => {
    writeFileSync(
      join(env.inbox, "preise-011.csv"),
      erpPriceFile([
        ["SKU-1", "HAENDLER", "Händler", "1,00", "EUR"],
        ["SKU-2", "HAENDLER", "Händler", "2,00", "EUR"],
      ]),
    );
    const source = file.create("erp", FileConfig.parse(erpSettings(env.inbox)));
    const stream = source.streams.price as NonNullable<typeof source.streams.price>;
    // The same connection, dying where the file would be consumed.
    const dying = {
      ...source,
      streams: {
        price: {
          entity: stream.entity,
          sorted: stream.sorted,
          list: (req: Parameters<typeof stream.list>[0]) => stream.list(req),
          get: (id: string) => stream.get(id),
          idOf: (n: Parameters<typeof stream.idOf>[0]) => stream.idOf(n),
          updatedAtOf: (n: Parameters<typeof stream.idOf>[0]) => stream.updatedAtOf(n),
          toCanonical: (n: Parameters<typeof stream.idOf>[0]) => stream.toCanonical(n),
          committed: async () => {
            throw new Error("the process died here");
          },
        },
      },
    };
    const crashed = await env.engine.run(env.flow(dying as typeof source));
    assert.equal(crashed.status, "failed");
    assert.equal(env.written().size, 2, "the records were written and committed before the crash");
    assert.deepEqual(env.ls(), ["preise-011.csv"], "the file stays until it is consumed");
    const writes = readdirSync(env.outbox).length;
    const next = await env.engine.run(env.flow(source));
    assert.equal(next.counts.skipped, 2, "read again, found unchanged");
    assert.equal(next.counts.created + next.counts.updated, 0);
    assert.equal(readdirSync(env.outbox).length, writes, "nothing delivered twice");
    assert.deepEqual(env.ls(), []);
    assert.deepEqual(env.ls("processed"), ["preise-011.csv"]);
  });

  test("a reconciliation pass (passerelle run's window) consumes files as a sync does", async () => {
    // Exactly one page (batchSize 2): committed before the pass reads on and finds the file's end.
    writeFileSync(
      join(env.inbox, "preise-010.csv"),
      erpPriceFile([
        ["SKU-1", "HAENDLER", "Händler", "1,00", "EUR"],
        ["SKU-2", "HAENDLER", "Händler", "2,00", "EUR"],
      ]),
    );
    const pass = await windowPass({ store: env.store, engine: env.engine }, env.flow(), null);
    assert.equal(pass.counts.created, 2, pass.error?.message);
    assert.deepEqual(env.ls(), []);
    assert.deepEqual(env.ls("processed"), ["preise-010.csv"]);
  });

  test("a dry run reads the files but leaves them where they are", async () => {
    writeFileSync(
      join(env.inbox, "preise-008.csv"),
      erpPriceFile([["SKU-1", "HAENDLER", "Händler", "1,00", "EUR"]]),
    );
    const plan = await env.engine.run(env.flow(), { dryRun: true });
    assert.equal(plan.plan.create.records, 1);
    assert.deepEqual(env.ls(), ["preise-008.csv"]);
  });

  test("a folder that is not there is a configuration error naming it", async () => {
    const source = file.create("erp", FileConfig.parse(erpSettings(join(env.dir, "nowhere"))));
    const summary = await env.engine.run(env.flow(source));
    assert.equal(summary.status, "failed");
    assert.equal(summary.error?.kind, "config");
    assert.match(summary.error?.message ?? "", /^erp: folder .*nowhere does not exist/);
  });

  test("settings problems name the field and the value", () => {
    const bad = FileConfig.safeParse({
      folder: env.inbox,
      entities: {
        prices: { pattern: "x", format: "csv" },
        price: { pattern: "*.xml", format: "xml", delimiter: ";;" },
      },
    });
    assert.ok(!bad.success);
    const issues = bad.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    assert.ok(
      issues.some((i) => /^entities\.prices: unknown entity "prices"/.test(i)),
      issues.join("\n"),
    );
    assert.ok(
      issues.some((i) => /^entities\.price\.delimiter: must be one character/.test(i)),
      issues.join("\n"),
    );
    assert.ok(
      issues.some((i) => /^entities\.price\.recordPath: an XML entity needs recordPath/.test(i)),
      issues.join("\n"),
    );
  });
});
