/**
 * The file connector over SFTP, against a real SSH/SFTP server started here on a loopback port (the ssh2
 * package's server, a throwaway host key, one user; test/helpers/sftp-server.ts): the shared contract
 * suite, then issue 17's scenarios — a Windows-1252 semicolon-separated price file with a header row is
 * imported, a half-uploaded file is not read until complete, a re-uploaded identical file is not
 * processed twice.
 */
import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import iconv from "iconv-lite";
import { fileContractFixture } from "../../../test/fixtures/file-contract.ts";
import { erpPriceFile, erpSettings } from "../../../test/fixtures/file-erp.ts";
import { type SftpServer, startSftpServer } from "../../../test/helpers/sftp-server.ts";
import { SyncError } from "../../core/errors.ts";
import type { Flow } from "../../engine/flow.ts";
import { SyncEngine } from "../../engine/sync.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import type { Store } from "../../ports/store.ts";
import { openStore } from "../../store/index.ts";
import { createClient } from "./client.ts";
import { FileConfig } from "./config.ts";
import { file } from "./index.ts";

runContractSuite(
  file,
  async () => {
    const server = await startSftpServer();
    const sftp = {
      host: server.host,
      port: server.port,
      username: server.username,
      password: server.password,
    };
    return fileContractFixture({
      root: join(server.root, "exchange"),
      connect: (s) => ({ ...s, folder: "/exchange", sftp }),
      badCredentials: {
        folder: "/exchange",
        entities: { price: { pattern: "*.csv", format: "csv" } },
        sftp: { ...sftp, password: "wrong-password" },
      },
      teardown: () => server.close(),
    });
  },
  "file over sftp",
);

describe("file connector over SFTP: an ERP's price files", () => {
  let server: SftpServer;
  let dir: string;
  let store: Store;
  let engine: SyncEngine;
  let exchange: string;
  let n = 0;
  const outbox = () => join(dir, "shop");
  before(async () => {
    server = await startSftpServer();
    dir = mkdtempSync(join(tmpdir(), "passerelle-file-sftp-"));
    mkdirSync(join(dir, "shop"));
    store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
    await store.migrate();
    engine = new SyncEngine(store);
  });
  after(async () => {
    await store.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh folder on the server per test, and the connection settings that reach it. */
  function folder(
    extra: Record<string, unknown> = {},
    auth: Record<string, unknown> = { password: server.password },
  ) {
    n++;
    exchange = join(server.root, `in-${n}`);
    mkdirSync(exchange);
    return FileConfig.parse(
      erpSettings(`/in-${n}`, {
        sftp: { host: server.host, port: server.port, username: server.username, ...auth },
        ...extra,
      }),
    );
  }
  const flow = (source: ReturnType<typeof file.create>, name = `prices-${n}`): Flow => ({
    name,
    entity: "price",
    source,
    // A target of its own per test: links are per system, and each test starts with an empty shop.
    target: file.create(
      `shop-${n}`,
      FileConfig.parse({
        folder: outbox(),
        entities: { price: { pattern: "*.jsonl", format: "jsonl", write: { prefix: `prices-${n}-` } } },
      }),
    ),
    batchSize: 50,
  });
  const written = () => {
    const out = new Map<string, { price: string; name: string }>();
    for (const f of readdirSync(outbox())
      .filter((x) => x.startsWith(`prices-${n}-`))
      .sort()) {
      for (const line of readFileSync(join(outbox(), f), "utf8").split("\n").filter(Boolean)) {
        const p = JSON.parse(line) as { key: string; price: string; priceList: { name: string } };
        out.set(p.key, { price: p.price, name: p.priceList.name });
      }
    }
    return out;
  };
  const ls = (sub = "") =>
    existsSync(join(exchange, sub))
      ? readdirSync(join(exchange, sub))
          .filter((x) => x !== "processed" && x !== "failed")
          .sort()
      : [];

  test("a Windows-1252 semicolon-separated price file with a header row is imported (key login)", async () => {
    const source = file.create("erp", folder({}, { privateKey: server.privateKey }));
    writeFileSync(
      join(exchange, "preise-001.csv"),
      erpPriceFile([
        ["SKU-1", "HAENDLER", "Händler Genève", "1.234,56", "EUR"],
        ["SKU-2", "ENDKUNDE", "Endkunde Zürich", "0,99", "CHF"],
      ]),
    );
    const logins = server.logins;
    const summary = await engine.run(flow(source));
    await source.close();
    assert.equal(summary.status, "succeeded", summary.error?.message);
    assert.equal(server.logins, logins + 1, "the files were not read over SFTP");
    assert.deepEqual(Object.fromEntries(written()), {
      "HAENDLER:SKU-1": { price: "1234.56", name: "Händler Genève" },
      "ENDKUNDE:SKU-2": { price: "0.99", name: "Endkunde Zürich" },
    });
    assert.deepEqual(ls(), []);
    assert.deepEqual(ls("processed"), ["preise-001.csv"]);
  });

  test("the server's host key is checked against hostKey when given", async () => {
    const good = file.create("erp", folder({}, { password: server.password, hostKey: server.hostKey }));
    await good.check();
    await good.close();
    const other = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const bad = file.create("erp", folder({}, { password: server.password, hostKey: other }));
    await assert.rejects(bad.check(), (e: unknown) => {
      assert.ok(e instanceof SyncError);
      assert.equal(e.kind, "config");
      assert.equal(
        e.message,
        `erp: the SFTP server ${server.host}:${server.port} shows host key ${server.hostKey}, not the configured hostKey ${other}`,
      );
      return true;
    });
    await bad.close();
  });

  test("a half-uploaded file is not read until its size stops changing", async () => {
    const config = folder({ settleMs: 1000 });
    const path = join(exchange, "preise-002.csv");
    writeFileSync(path, erpPriceFile([["SKU-1", "HAENDLER", "Händler", "10,00", "EUR"]]));
    let uploading = true;
    const sleep = async () => {
      if (uploading)
        appendFileSync(path, iconv.encode("SKU-2;HAENDLER;Händler;20,00;EUR\r\n", "windows-1252"));
    };
    const source = file.assemble("erp", createClient("erp", config, { sleep }));
    const during = await engine.run(flow(source));
    assert.equal(during.counts.read, 0, "a file still being uploaded was read");
    uploading = false;
    const done = await engine.run(flow(source));
    await source.close();
    assert.equal(done.counts.created, 2, done.error?.message);
    assert.deepEqual(ls("processed"), ["preise-002.csv"]);
  });

  test("a half-uploaded file is not read until its .done marker is there", async () => {
    const source = file.create("erp", folder({ doneMarker: true }));
    writeFileSync(
      join(exchange, "preise-003.csv"),
      erpPriceFile([["SKU-1", "HAENDLER", "Händler", "10,00", "EUR"]]),
    );
    const before = await engine.run(flow(source));
    assert.equal(before.counts.read, 0);
    writeFileSync(join(exchange, "preise-003.csv.done"), "");
    const after = await engine.run(flow(source));
    await source.close();
    assert.equal(after.counts.created, 1, after.error?.message);
    assert.deepEqual(ls("processed"), ["preise-003.csv", "preise-003.csv.done"]);
  });

  test("a re-uploaded identical file is not processed twice", async () => {
    const config = folder();
    const bytes = erpPriceFile([
      ["SKU-1", "HAENDLER", "Händler", "30,00", "EUR"],
      ["SKU-2", "HAENDLER", "Händler", "40,00", "EUR"],
    ]);
    writeFileSync(join(exchange, "preise-004.csv"), bytes);
    const source = file.create("erp", config);
    const first = await engine.run(flow(source));
    assert.equal(first.counts.created, 2);
    const deliveries = readdirSync(outbox()).length;
    writeFileSync(join(exchange, "preise-004.csv"), bytes);
    writeFileSync(join(exchange, "preise-004-again.csv"), bytes);
    // Another process: a new connection (the checksums are in the store, not in memory).
    await source.close();
    const restarted = file.create("erp", config);
    const again = await engine.run(flow(restarted));
    await restarted.close();
    assert.equal(again.counts.read, 0, "an identical file was read again");
    assert.equal(readdirSync(outbox()).length, deliveries);
    assert.deepEqual(ls(), []);
    assert.deepEqual(ls("processed"), ["preise-004-again.csv", "preise-004.csv", "preise-004~2.csv"]);
  });
});
