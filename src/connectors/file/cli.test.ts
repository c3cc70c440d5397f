/**
 * The file connector from passerelle.yaml through the real CLI: an ERP drops a Windows-1252 price export on
 * its SFTP server (a real one, on a loopback port); `passerelle sync` reads it over SFTP with the password
 * from the environment and writes a UTF-8 CSV for the shop; the bad row is in `passerelle failures` with
 * its line; the next sync writes nothing. The configuration is docs/connectors/file.md's example.
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
import { after, before, test } from "node:test";
import { spawnCli } from "../../../test/e2e/helpers.ts";
import { erpPriceFile } from "../../../test/fixtures/file-erp.ts";
import { type SftpServer, startSftpServer } from "../../../test/helpers/sftp-server.ts";

let server: SftpServer;
let dir: string;
before(async () => {
  server = await startSftpServer();
  dir = mkdtempSync(join(tmpdir(), "passerelle-file-cli-"));
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** docs/connectors/file.md's example, pointed at the test's server and folders. */
export function exampleConfig(o: { port: number; store: string; shop: string }): string {
  return `version: 1
store:
  url: sqlite:${o.store}
connections:
  erp-files:
    type: file
    folder: /exports
    sftp:
      host: 127.0.0.1
      port: ${o.port}
      username: erp
      password: \${env:ERP_SFTP_PASSWORD}
    settleMs: 0
    entities:
      price:
        pattern: "preise-*.csv"
        format: csv
        encoding: windows-1252
        delimiter: ";"
        decimalComma: true
        numbers: [Preis]
        fields:
          sku: Artikelnummer
          price: Preis
          priceList.code: Preisliste
          priceList.name: Listenname
          priceList.customerGroup: { value: retail }
          priceList.currency: Währung
  shop-files:
    type: file
    folder: ${o.shop}
    entities:
      price:
        pattern: "prices-*.csv"
        format: csv
        write:
          prefix: prices-
          fields:
            sku: sku
            list: priceList.code
            price: price
            currency: priceList.currency
flows:
  prices:
    source: { connection: erp-files, entity: price }
    target: { connection: shop-files, entity: price }
`;
}

test("passerelle sync reads an ERP's price export over SFTP and writes the shop's file; the next sync writes nothing", async () => {
  const shop = join(dir, "shop");
  mkdirSync(shop);
  mkdirSync(join(server.root, "exports"));
  const config = join(dir, "passerelle.yaml");
  writeFileSync(config, exampleConfig({ port: server.port, store: join(dir, "store.sqlite"), shop }));
  writeFileSync(
    join(server.root, "exports", "preise-2026-12-01.csv"),
    erpPriceFile([
      ["SKU-1", "HAENDLER", "Händler Genève", "1.234,56", "EUR"],
      ["SKU-2", "HAENDLER", "Händler Genève", "12,5O", "EUR"],
      ["SKU-3", "HAENDLER", "Händler Genève", "0,99", "EUR"],
    ]),
  );
  const env = { ...process.env, ERP_SFTP_PASSWORD: server.password };
  const valid = await spawnCli(["-c", config, "validate"], env);
  assert.equal(valid.code, 0, valid.stderr + valid.stdout);

  const sync = await spawnCli(["-c", config, "sync", "prices"], env);
  const out = sync.stdout + sync.stderr;
  assert.ok(!out.includes(server.password), "the SFTP password appeared in the output");
  assert.deepEqual(readdirSync(join(server.root, "exports", "processed")), ["preise-2026-12-01.csv"]);
  const files = readdirSync(shop).filter((f) => f.endsWith(".csv"));
  assert.equal(files.length, 1, out);
  assert.equal(
    readFileSync(join(shop, files[0] as string), "utf8"),
    "sku,list,price,currency\nSKU-1,HAENDLER,1234.56,EUR\nSKU-3,HAENDLER,0.99,EUR\n",
  );

  const failures = await spawnCli(["-c", config, "--json", "failures", "list"], env);
  assert.equal(failures.code, 0, failures.stderr);
  assert.match(
    failures.stdout,
    /preise-2026-12-01\.csv line 3: column \\"Preis\\": \\"12,5O\\" is not a number/,
  );

  // Read again from its source: the line is found in processed/, and fails the same way.
  const [failure] = JSON.parse(failures.stdout) as { id: number }[];
  const resync = await spawnCli(["-c", config, "failures", "resync", String(failure?.id)], env);
  assert.match(
    resync.stdout + resync.stderr,
    /preise-2026-12-01\.csv line 3: column "Preis": "12,5O" is not a number/,
  );

  const again = await spawnCli(["-c", config, "sync", "prices"], env);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  assert.equal(readdirSync(shop).filter((f) => f.endsWith(".csv")).length, 1, "the second sync wrote a file");
  assert.ok(existsSync(join(shop, "sent")));
});

test("passerelle discover reads the newest export's header over SFTP and proposes the price mapping", async () => {
  const root = join(dir, "discover");
  mkdirSync(root);
  mkdirSync(join(server.root, "exports-d"));
  const config = join(root, "passerelle.yaml");
  writeFileSync(
    config,
    exampleConfig({ port: server.port, store: join(root, "store.sqlite"), shop: root }).replace(
      "folder: /exports",
      "folder: /exports-d",
    ),
  );
  writeFileSync(
    join(server.root, "exports-d", "preise-2026-12-02.csv"),
    erpPriceFile([["SKU-1", "HAENDLER", "Händler Genève", "1.234,56", "EUR"]]),
  );
  const env = { ...process.env, ERP_SFTP_PASSWORD: server.password };
  const res = await spawnCli(["-c", config, "--json", "discover", "erp-files"], env);
  assert.equal(res.code, 0, res.stderr + res.stdout);
  assert.ok(!(res.stdout + res.stderr).includes(server.password));
  const { shapes } = JSON.parse(res.stdout) as {
    shapes: {
      entity: string;
      fields: { name: string; type: string; example?: string }[];
      starter: { fields: Record<string, unknown>; missing: string[] };
      notes: string[];
    }[];
  };
  assert.equal(shapes.length, 1);
  const [shape] = shapes;
  assert.equal(shape?.entity, "price");
  // Read as the stream reads it: Windows-1252 decoded, the number column with its decimal comma.
  assert.deepEqual(
    shape?.fields.map((f) => [f.name, f.type, f.example]),
    [
      ["Artikelnummer", "string", "SKU-1"],
      ["Preisliste", "string", "HAENDLER"],
      ["Listenname", "string", "Händler Genève"],
      ["Preis", "decimal", "1234.56"],
      ["Währung", "string", "EUR"],
    ],
  );
  assert.equal(shape?.starter.fields.sku, "Artikelnummer");
  assert.equal(shape?.starter.fields.price, "Preis");
  assert.equal(shape?.starter.fields["priceList.name"], "Listenname");
  assert.deepEqual(shape?.starter.missing, ["priceList.customerGroup"]);
  // Nothing was moved: discovering is reading.
  assert.deepEqual(readdirSync(join(server.root, "exports-d")), ["preise-2026-12-02.csv"]);

  const human = await spawnCli(["-c", config, "discover", "erp-files"], env);
  assert.match(human.stdout, /^fields:\n {2}key:\n {4}expr: Preisliste & ':' & Artikelnummer$/m);
});
