/**
 * The file writer: one file per batch in the entity's format, encoding and delimiter, written under a
 * temporary name and renamed; a rerun after an interruption writes nothing, a change back and forth is
 * delivered each time, and a character the encoding cannot hold fails its record alone.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import iconv from "iconv-lite";
import type { Price } from "../../core/model.ts";
import type { WriteItem } from "../../ports/connector.ts";
import { FileConfig } from "./config.ts";
import { file } from "./index.ts";

const noLinks = { resolve: async () => null };

function price(sku: string, amount: string, name = "Händler Genève"): Price {
  return {
    key: `HAENDLER:${sku}`,
    source: "erp",
    sourceId: sku,
    updatedAt: "2026-12-01T10:00:00.000Z",
    priceList: { code: "HAENDLER", name, customerGroup: "retail", currency: "EUR" },
    sku,
    price: amount,
    tiers: [],
  };
}

const item = (p: Price, targetId: string | null = null): WriteItem<"price"> => ({
  key: p.key,
  record: p,
  targetId,
  externalRef: p.key,
});

describe("file connector: writing", () => {
  let dir: string;
  let conn: ReturnType<typeof file.create>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-file-writer-"));
    conn = file.create("erp-in", configOf(dir));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const writer = () => conn.writers.price as NonNullable<typeof conn.writers.price>;
  const delivered = () =>
    readdirSync(dir)
      .filter((n) => n.endsWith(".csv"))
      .sort();

  test("one file per batch: the configured columns, delimiter, decimal commas and encoding", async () => {
    const results = await writer().upsert(
      [item(price("SKU-1", "1234.56")), item(price("SKU-2", "0.99"))],
      noLinks,
    );
    assert.deepEqual(
      results.map((r) => (r.ok ? [r.key, r.action, r.targetId] : [r.key, r.error.message])),
      [
        ["HAENDLER:SKU-1", "created", "HAENDLER:SKU-1"],
        ["HAENDLER:SKU-2", "created", "HAENDLER:SKU-2"],
      ],
    );
    const [name, ...others] = delivered();
    assert.deepEqual(others, []);
    assert.match(name ?? "", /^preise-\d{8}T\d{9}Z-[0-9a-f]{16}\.csv$/);
    const text = iconv.decode(readFileSync(join(dir, name as string)), "windows-1252");
    assert.equal(
      text,
      "Artikelnummer;Listenname;Preis\nSKU-1;Händler Genève;1234,56\nSKU-2;Händler Genève;0,99\n",
    );
    // No temporary file is left behind; sent/ holds the copy and its keys.
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith(".")),
      [],
    );
    assert.deepEqual(readdirSync(join(dir, "sent")).sort(), [name, `${name}.keys.json`]);
    assert.equal(
      await writer().findByExternalRef("HAENDLER:SKU-2", price("SKU-2", "0.99")),
      "HAENDLER:SKU-2",
    );
    assert.equal(await writer().findByExternalRef("HAENDLER:SKU-9", price("SKU-9", "0.99")), null);
  });

  test("a batch delivered before an interruption is not delivered again, even before it was archived", async () => {
    const batch = [item(price("SKU-1", "10.00")), item(price("SKU-2", "20.00"))];
    await writer().upsert(batch, noLinks);
    const first = delivered();
    const writes = conn.writes();
    // The same batch again (the engine's rerun of a page whose commit was lost): nothing written.
    const again = await writer().upsert(
      batch.map((b) => ({ ...b, targetId: b.key })),
      noLinks,
    );
    assert.deepEqual(
      again.map((r) => r.ok && r.action),
      ["unchanged", "unchanged"],
    );
    assert.equal(conn.writes(), writes);
    // Interrupted between the delivery and its record in sent/: the delivered file is recognised.
    const name = first[0] as string;
    unlinkSync(join(dir, "sent", `${name}.keys.json`));
    unlinkSync(join(dir, "sent", name));
    const fresh = file.create("erp-in", configOf(dir));
    await fresh.writers.price?.upsert(batch, noLinks);
    assert.deepEqual(delivered(), first, "the batch was delivered twice");
    assert.ok(readdirSync(join(dir, "sent")).includes(`${name}.keys.json`), "the delivery was not recorded");
  });

  test("a price changed and changed back is delivered each time", async () => {
    await writer().upsert([item(price("SKU-1", "10.00"))], noLinks);
    await writer().upsert([item(price("SKU-1", "12.00"), "HAENDLER:SKU-1")], noLinks);
    const back = await writer().upsert([item(price("SKU-1", "10.00"), "HAENDLER:SKU-1")], noLinks);
    assert.equal(back[0]?.ok && back[0].action, "updated");
    assert.equal(delivered().length, 3);
  });

  test("a character the encoding cannot hold fails its own record; the others are written", async () => {
    const results = await writer().upsert(
      [item(price("SKU-1", "1.00")), item(price("SKU-2", "2.00", "Ελλάδα")), item(price("SKU-3", "3.00"))],
      noLinks,
    );
    const bad = results.find((r) => r.key === "HAENDLER:SKU-2");
    assert.ok(bad && !bad.ok);
    assert.equal(bad.error.kind, "data");
    assert.match(bad.error.message, /"Ε" cannot be written in windows-1252/);
    assert.equal(results.filter((r) => r.ok).length, 2);
    const text = iconv.decode(readFileSync(join(dir, delivered()[0] as string)), "windows-1252");
    assert.equal(text.split("\n").filter(Boolean).length, 3, "header and two rows");
  });
});

function configOf(dir: string) {
  return FileConfig.parse({
    folder: dir,
    entities: {
      price: {
        pattern: "preise-*.csv",
        format: "csv",
        encoding: "windows-1252",
        delimiter: ";",
        decimalComma: true,
        numbers: ["Preis"],
        write: {
          prefix: "preise-",
          fields: { Artikelnummer: "sku", Listenname: "priceList.name", Preis: "price" },
        },
      },
    },
  });
}
