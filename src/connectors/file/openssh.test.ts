/**
 * The file connector over SFTP against OpenSSH's own sshd (Debian's openssh-server, started here on a
 * loopback port with throwaway keys; test/helpers/openssh-server.ts), the server most ERP hosts run: the
 * shared contract suite, an ERP's Windows-1252 price file read and the shop's file written over it, and
 * the written file flushed with OpenSSH's fsync@openssh.com before its rename, as sshd's own log shows.
 */
import assert from "node:assert/strict";
import {
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
import { fileContractFixture } from "../../../test/fixtures/file-contract.ts";
import { erpPriceFile, erpSettings } from "../../../test/fixtures/file-erp.ts";
import {
  type OpensshServer,
  opensshMissing,
  startOpensshServer,
} from "../../../test/helpers/openssh-server.ts";
import { SyncError } from "../../core/errors.ts";
import { SyncEngine } from "../../engine/sync.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import type { Store } from "../../ports/store.ts";
import { openStore } from "../../store/index.ts";
import { FileConfig } from "./config.ts";
import { file } from "./index.ts";

if (opensshMissing) {
  test("file connector against OpenSSH's sshd", { skip: opensshMissing }, () => {});
} else {
  runContractSuite(
    file,
    async () => {
      const server = await startOpensshServer();
      const sftp = { host: server.host, port: server.port, username: server.username };
      const folder = join(server.root, "exchange");
      return fileContractFixture({
        root: folder,
        connect: (s) => ({ ...s, folder, sftp: { ...sftp, privateKey: server.privateKey } }),
        badCredentials: {
          folder,
          entities: { price: { pattern: "*.csv", format: "csv" } },
          sftp: { ...sftp, privateKey: server.strangerKey },
        },
        teardown: () => server.close(),
      });
    },
    "file over OpenSSH sftp",
  );

  describe("file connector over OpenSSH's sftp: an ERP's price file to the shop's folder", () => {
    let server: OpensshServer;
    let dir: string;
    let store: Store;
    before(async () => {
      server = await startOpensshServer();
      dir = mkdtempSync(join(tmpdir(), "passerelle-openssh-"));
      store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
      await store.migrate();
    });
    after(async () => {
      await store?.close();
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("read and written over SFTP; the written file is flushed (fsync@openssh.com) before its rename", async () => {
      const sftp = {
        host: server.host,
        port: server.port,
        username: server.username,
        privateKey: server.privateKey,
        hostKey: server.hostKey,
      };
      const inbox = join(server.root, "erp");
      const outbox = join(server.root, "shop");
      mkdirSync(inbox);
      mkdirSync(outbox);
      writeFileSync(
        join(inbox, "preise-001.csv"),
        erpPriceFile([
          ["SKU-1", "HAENDLER", "Händler Genève", "1.234,56", "EUR"],
          ["SKU-2", "ENDKUNDE", "Endkunde Zürich", "0,99", "CHF"],
        ]),
      );
      const source = file.create("erp", FileConfig.parse(erpSettings(inbox, { sftp })));
      const target = file.create(
        "shop",
        FileConfig.parse({
          folder: outbox,
          sftp,
          entities: { price: { pattern: "*.jsonl", format: "jsonl", write: { prefix: "prices-" } } },
        }),
      );
      const engine = new SyncEngine(store);
      const flow = { name: "prices", entity: "price" as const, source, target, batchSize: 50 };
      const summary = await engine.run(flow);
      assert.equal(summary.status, "succeeded", summary.error?.message);
      assert.equal(summary.counts.created, 2);
      assert.deepEqual(readdirSync(join(inbox, "processed")), ["preise-001.csv"]);
      const [delivered, ...more] = readdirSync(outbox).filter((f) => f.endsWith(".jsonl"));
      assert.equal(more.length, 0);
      const rows = readFileSync(join(outbox, delivered as string), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { key: string; price: string });
      assert.deepEqual(rows.map((r) => [r.key, r.price]).sort(), [
        ["ENDKUNDE:SKU-2", "0.99"],
        ["HAENDLER:SKU-1", "1234.56"],
      ]);
      // No temporary file left behind, and sshd saw the flush of the written file.
      assert.deepEqual(
        readdirSync(outbox).filter((f) => f.startsWith(".")),
        [],
      );
      const log = server.log();
      const flushed = /fsync "([^"]+\.tmp)"[\s\S]*?rename old "([^"]+)" new "([^"]+)"/.exec(log);
      assert.ok(flushed, "the connector did not flush the file with fsync@openssh.com before renaming it");
      assert.equal(flushed[2], flushed[1], "the file flushed is not the one renamed");
      assert.equal(flushed[3], join(outbox, delivered as string));

      const again = await engine.run(flow);
      assert.equal(again.counts.read, 0);
      await source.close();
      await target.close();
      assert.ok(existsSync(join(outbox, "sent")));
    });

    test("a key the server does not accept is a configuration error naming the connection", async () => {
      const conn = file.create(
        "erp",
        FileConfig.parse(
          erpSettings(server.root, {
            sftp: {
              host: server.host,
              port: server.port,
              username: server.username,
              privateKey: server.strangerKey,
            },
          }),
        ),
      );
      await assert.rejects(conn.check(), (e: unknown) => {
        assert.ok(e instanceof SyncError, String(e));
        assert.equal(e.kind, "config");
        assert.match(e.message, /^erp: /);
        assert.ok(!e.message.includes("PRIVATE KEY"));
        return true;
      });
      await conn.close();
    });
  });
}
