/** Bytes ↔ rows: each format's records, their line numbers, numbers with decimal commas, encodings. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import iconv from "iconv-lite";
import { globToRegExp } from "./client.ts";
import { EntityFiles } from "./config.ts";
import { decode, encode, formatRows, normaliseNumbers, parseText } from "./formats.ts";

const settings = (s: Record<string, unknown>) => EntityFiles.parse({ pattern: "*", ...s });

describe("file formats", () => {
  test("CSV: quoted values over several lines keep the following rows' line numbers right", async () => {
    const csv = settings({ format: "csv" });
    const { rows } = await parseText('sku,name\nA,"two\nlines"\n\nB,plain\n', csv);
    assert.deepEqual(
      rows.map((r) => [r.line, r.values]),
      [
        [3, { sku: "A", name: "two\nlines" }],
        [5, { sku: "B", name: "plain" }],
      ],
    );
  });

  test("CSV: a file larger than the parser's slices keeps every row and its line (quoted line breaks across slices)", async () => {
    const lines = ["sku,name"];
    let expectedLast = 1;
    for (let i = 1; i <= 12000; i++) {
      // Every 997th value holds a line break, so some fall on a slice boundary.
      lines.push(
        i % 997 === 0
          ? `S${i},"a long name\nover two lines ${"x".repeat(i % 50)}"`
          : `S${i},name ${"y".repeat(i % 40)}`,
      );
      expectedLast += i % 997 === 0 ? 2 : 1;
    }
    const text = `${lines.join("\n")}\n`;
    assert.ok(text.length > 3 * 64 * 1024);
    const { rows, fileError } = await parseText(text, settings({ format: "csv" }));
    assert.equal(fileError, null);
    assert.equal(rows.length, 12000);
    assert.equal(rows.at(-1)?.line, expectedLast);
    assert.equal(rows[996]?.values?.name, `a long name\nover two lines ${"x".repeat(997 % 50)}`);
  });

  test("CSV without a header takes the configured column names; dotted names become nested fields", async () => {
    const csv = settings({
      format: "csv",
      header: false,
      columns: ["sku", "priceList.code"],
      delimiter: "\t",
    });
    const { rows } = await parseText("A\tRETAIL\n", csv);
    assert.deepEqual(rows[0]?.values, { sku: "A", priceList: { code: "RETAIL" } });
  });

  test("CSV: a header naming a column twice fails the file; an unclosed quote stops it there, with its line", async () => {
    const csv = settings({ format: "csv" });
    assert.match(
      (await parseText("sku,sku\nA,B\n", csv)).fileError?.message ?? "",
      /names column "sku" twice/,
    );
    const open = await parseText('sku,name\nA,fine\nB,"never closed\nC,x\n', csv);
    assert.match(open.fileError?.message ?? "", /not valid CSV/);
    assert.deepEqual(
      open.rows.map((r) => r.values),
      [{ sku: "A", name: "fine" }],
      "the rows before the break stand",
    );
  });

  test("JSON Lines: a line that is not a JSON object fails alone, with its line", async () => {
    const { rows } = await parseText(
      '{"sku":"A"}\n{"sku":\n[1]\n{"sku":"B"}\n',
      settings({ format: "jsonl" }),
    );
    assert.deepEqual(
      rows.map((r) => [r.line, r.error === null ? r.values : r.error.slice(0, 17)]),
      [
        [1, { sku: "A" }],
        [2, "not valid JSON: U"],
        [3, "the line is not a"],
        [4, { sku: "B" }],
      ],
    );
  });

  test("XML: records at recordPath with their attributes and the line each starts on; one record is a list of one", async () => {
    const xml = settings({ format: "xml", recordPath: "Export.Artikel" });
    const text = `<?xml version="1.0"?>\n<Export>\n  <Artikel nr="A">\n    <Preis>1,50</Preis>\n  </Artikel>\n  <Artikel nr="B"><Preis>2</Preis></Artikel>\n</Export>\n`;
    const { rows } = await parseText(text, xml);
    assert.deepEqual(
      rows.map((r) => [r.line, r.values]),
      [
        [3, { "@nr": "A", Preis: "1,50" }],
        [6, { "@nr": "B", Preis: "2" }],
      ],
    );
    const one = await parseText("<Export><Artikel><Preis>1</Preis></Artikel></Export>", xml);
    assert.equal(one.rows.length, 1);
    assert.match((await parseText("<Other/>", xml)).fileError?.message ?? "", /no <Export> element/);
  });

  test("numbers: decimal commas read 1.234,56 and 12,5; plain numbers refuse them and say which setting to use", async () => {
    const comma = settings({ format: "csv", decimalComma: true, numbers: ["p"] });
    for (const [given, read] of [
      ["1.234,56", "1234.56"],
      ["12,5", "12.5"],
      ["-0,99", "-0.99"],
      ["1.234.567", "1234567"],
      ["7", "7"],
    ]) {
      const v = { p: given };
      assert.equal(normaliseNumbers(v, comma), null, given);
      assert.equal(v.p, read, given);
    }
    for (const bad of ["1,234.56", "12.5", "1.23,4.5", "abc"]) {
      assert.match(
        normaliseNumbers({ p: bad }, comma)?.message ?? "",
        /not a number written with a decimal comma/,
        bad,
      );
    }
    const plain = settings({ format: "csv", numbers: ["p"] });
    assert.match(
      normaliseNumbers({ p: "1.234,56" }, plain)?.message ?? "",
      /for 1\.234,56 set decimalComma: true/,
    );
    const empty: Record<string, unknown> = { p: " " };
    assert.equal(normaliseNumbers(empty, plain), null);
    assert.equal("p" in empty, false, "an empty number cell is a missing value");
  });

  test("encodings: Windows-1252 and ISO-8859-1 both ways; a character the encoding lacks is named", async () => {
    assert.equal(decode(iconv.encode("Crème brûlée €", "windows-1252"), "windows-1252"), "Crème brûlée €");
    assert.equal(decode(Buffer.from("\uFEFFsku", "utf8"), "utf-8"), "sku", "a byte-order mark is dropped");
    assert.deepEqual(encode("Preis in €", "iso-8859-1"), { bad: "€" });
    assert.ok(Buffer.isBuffer(encode("Müller", "iso-8859-1")));
  });

  test("writing CSV: nested fields become dotted columns, lists JSON, numbers with decimal commas", async () => {
    const csv = settings({ format: "csv", delimiter: ";", decimalComma: true, numbers: ["price"] });
    const text = formatRows([{ sku: "A", price: "1234.5", priceList: { code: "R" }, tiers: [] }], csv);
    assert.equal(text, "sku;price;priceList.code;tiers\nA;1234,5;R;[]\n");
  });

  test("patterns: * ? [..] {a,b} on whole names", async () => {
    const re = globToRegExp("preise-{de,at}-??.[ct]sv");
    assert.ok(re.test("preise-de-01.csv"));
    assert.ok(re.test("preise-at-02.tsv"));
    assert.ok(!re.test("preise-ch-01.csv"));
    assert.ok(!re.test("xpreise-de-01.csv"));
    assert.ok(globToRegExp("*.csv").test("a.b.csv"));
    assert.ok(!globToRegExp("*.csv").test("a.csv.done"));
  });
});
