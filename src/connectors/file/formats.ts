/**
 * Bytes ↔ rows for the three formats (CSV via csv-parse / csv-stringify, JSON Lines, XML via
 * fast-xml-parser), in the three encodings (iconv-lite), with each row's line number and, for a row that
 * cannot be read, the reason. A file that cannot be read at all (broken XML, an unclosed CSV quote) is one
 * file-level problem with its line.
 */
import { parse as parseCsvStream } from "csv-parse";
import { stringify as stringifyCsv } from "csv-stringify/sync";
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import iconv from "iconv-lite";
import type { EntityFiles } from "./config.ts";

export type Values = Record<string, unknown>;

export interface Row {
  /** Line of the file where the row is (XML: where its element starts). */
  line: number;
  values: Values | null;
  /** Why the row cannot be read; null when it can. */
  error: string | null;
  field?: string;
  /** The problem is the file's, not the row's: nothing after it is read. */
  file?: boolean;
}

export interface Parsed {
  rows: Row[];
  /** The file cannot be read at all: why, and where. */
  fileError: { line: number; message: string } | null;
}

export function decode(bytes: Buffer, encoding: EntityFiles["encoding"]): string {
  const text = iconv.decode(bytes, encoding);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Encodes text; null when a character has no place in the encoding (iconv-lite would write "?" instead,
 * silently changing the data).
 */
export function encode(text: string, encoding: EntityFiles["encoding"]): Buffer | { bad: string } {
  const bytes = iconv.encode(text, encoding);
  if (encoding === "utf-8") return bytes;
  const back = iconv.decode(bytes, encoding);
  if (back === text) return bytes;
  for (let i = 0; i < text.length; i++) {
    if (back[i] !== text[i])
      return {
        bad: text.codePointAt(i) === undefined ? "?" : String.fromCodePoint(text.codePointAt(i) as number),
      };
  }
  return bytes;
}

const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
const COMMA_NUMBER = /^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$/;

/**
 * The row's number columns checked and written 1234.56: with decimalComma, 1.234,56 and 12,5 are read;
 * without it, only 1234.56. Empty cells become missing values. Returns the problem, or null.
 */
export function normaliseNumbers(
  values: Values,
  settings: EntityFiles,
): { field: string; message: string } | null {
  for (const column of settings.numbers) {
    if (!Object.hasOwn(values, column)) continue;
    const v = values[column];
    if (typeof v === "number") continue;
    if (typeof v !== "string") {
      return {
        field: column,
        message: `column ${JSON.stringify(column)}: ${JSON.stringify(v)} is not a number`,
      };
    }
    const text = v.trim();
    if (text === "") {
      delete values[column];
      continue;
    }
    if (settings.decimalComma) {
      if (!COMMA_NUMBER.test(text)) {
        return {
          field: column,
          message: `column ${JSON.stringify(column)}: ${JSON.stringify(v)} is not a number written with a decimal comma (e.g. 1.234,56 or 12,5)`,
        };
      }
      values[column] = text.replaceAll(".", "").replace(",", ".");
    } else {
      if (!PLAIN_NUMBER.test(text)) {
        return {
          field: column,
          message: `column ${JSON.stringify(column)}: ${JSON.stringify(v)} is not a number written like 1234.56${/,/.test(text) ? " (for 1.234,56 set decimalComma: true)" : ""}`,
        };
      }
      values[column] = text;
    }
  }
  return null;
}

/**
 * The file's rows, one at a time (CSV and JSON Lines are parsed as they are consumed, so a large file is
 * never held as rows all at once; XML is parsed whole). A problem with the file itself comes as a row with
 * `file: true`: the rows before it stand, nothing after it is read.
 */
export async function* streamRows(text: string, settings: EntityFiles): AsyncGenerator<Row> {
  switch (settings.format) {
    case "csv":
      yield* csvRows(text, settings);
      return;
    case "jsonl":
      yield* jsonlRows(text);
      return;
    case "xml": {
      const parsed = parseXml(text, settings);
      if (parsed.fileError)
        yield { ...parsed.fileError, values: null, error: parsed.fileError.message, file: true };
      else yield* parsed.rows;
    }
  }
}

/** Every row at once (for one file's lookup, and for a written file's own line numbers). */
export async function parseText(text: string, settings: EntityFiles): Promise<Parsed> {
  const rows: Row[] = [];
  for await (const row of streamRows(text, settings)) {
    if (row.file) return { rows, fileError: { line: row.line, message: row.error ?? "" } };
    rows.push(row);
  }
  return { rows, fileError: null };
}

function errorLine(e: unknown): number {
  const lines = (e as { lines?: unknown }).lines;
  return typeof lines === "number" ? lines : 0;
}

/** Text in slices, so the parser's buffers stay small. */
function* slices(text: string, size = 64 * 1024): Generator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

type CsvRecord = { record: string[]; info: { lines: number } };

/**
 * CSV records as the parser produces them, a slice of text at a time: the records before a problem (an
 * unclosed quote) are all delivered, then the problem.
 */
async function* csvRecords(
  text: string,
  settings: EntityFiles,
): AsyncGenerator<CsvRecord | { error: unknown }> {
  const parser = parseCsvStream({
    delimiter: settings.delimiter,
    relax_column_count: true,
    // A quote inside an unquoted value (12" Pizza) is a character, as ERP exports write it.
    relax_quotes: true,
    skip_empty_lines: true,
    info: true,
  });
  const queue: CsvRecord[] = [];
  let failure: unknown = null;
  parser.on("data", (r: CsvRecord) => queue.push(r));
  parser.on("error", (e) => {
    failure ??= e;
  });
  const ended = new Promise<void>((resolve) => {
    parser.on("end", resolve);
    parser.on("error", () => resolve());
  });
  try {
    for (const slice of slices(text)) {
      parser.write(slice);
      await new Promise((r) => setImmediate(r));
      while (queue.length > 0) yield queue.shift() as CsvRecord;
      if (failure) break;
    }
    if (!failure) {
      parser.end();
      await ended;
    }
    while (queue.length > 0) yield queue.shift() as CsvRecord;
    if (failure) yield { error: failure };
  } finally {
    parser.destroy();
  }
}

async function* csvRows(text: string, settings: EntityFiles): AsyncGenerator<Row> {
  let columns = settings.columns ?? [];
  let header = settings.header;
  for await (const item of csvRecords(text, settings)) {
    if ("error" in item) {
      const e = item.error;
      yield {
        line: errorLine(e),
        values: null,
        error: `not valid CSV: ${e instanceof Error ? e.message : String(e)}`,
        file: true,
      };
      return;
    }
    const { record, info } = item;
    if (header) {
      header = false;
      columns = record.map((c) => c.trim());
      const empty = columns.indexOf("");
      const dup = columns.find((c, i) => columns.indexOf(c) !== i);
      if (empty >= 0 || dup !== undefined) {
        const message =
          empty >= 0
            ? `the header's column ${empty + 1} has no name`
            : `the header names column ${JSON.stringify(dup)} twice`;
        yield { line: info.lines, values: null, error: message, file: true };
        return;
      }
      continue;
    }
    if (record.length !== columns.length) {
      const missing = columns.slice(record.length);
      yield {
        line: info.lines,
        values: null,
        error:
          record.length < columns.length
            ? `${record.length} values where the header has ${columns.length} columns: ${missing.map((m) => JSON.stringify(m)).join(", ")} missing`
            : `${record.length} values where the header has ${columns.length} columns`,
        ...(missing[0] !== undefined ? { field: missing[0] } : {}),
      };
      continue;
    }
    const values: Values = {};
    columns.forEach((c, i) => {
      values[c] = record[i];
    });
    yield { line: info.lines, values: unflatten(values), error: null };
  }
}

/** Dotted column names (priceList.code) become nested fields, as the CSV writer flattens them. */
function unflatten(values: Values): Values {
  if (!Object.keys(values).some((k) => k.includes("."))) return values;
  const out: Values = {};
  for (const [k, v] of Object.entries(values)) {
    const parts = k.split(".");
    if (parts.some((p) => p === "" || p === "__proto__" || p === "constructor" || p === "prototype")) {
      out[k] = v;
      continue;
    }
    let at = out;
    for (const p of parts.slice(0, -1)) {
      const next = at[p];
      if (next === null || typeof next !== "object") at[p] = {};
      at = at[p] as Values;
    }
    at[parts[parts.length - 1] as string] = v;
  }
  return out;
}

async function* jsonlRows(text: string): AsyncGenerator<Row> {
  let line = 0;
  for (let at = 0; at <= text.length; ) {
    const nl = text.indexOf("\n", at);
    const end = nl < 0 ? text.length : nl;
    const raw = text.slice(at, end).replace(/\r$/, "");
    line++;
    at = end + 1;
    if (raw.trim() === "") continue;
    try {
      const v: unknown = JSON.parse(raw);
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        yield { line, values: null, error: "the line is not a JSON object" };
      } else {
        yield { line, values: v as Values, error: null };
      }
    } catch (e) {
      yield { line, values: null, error: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
}

function parseXml(text: string, settings: EntityFiles): Parsed {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    return {
      rows: [],
      fileError: {
        line: valid.err.line,
        message: `not well-formed XML (line ${valid.err.line}, column ${valid.err.col}): ${valid.err.msg}`,
      },
    };
  }
  const path = (settings.recordPath ?? "").split(".");
  const recordPath = path.join(".");
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (_name, jpath) => jpath === recordPath,
  });
  const doc = parser.parse(text) as Values;
  let at: unknown = doc;
  for (const p of path.slice(0, -1)) {
    at = at !== null && typeof at === "object" ? (at as Values)[p] : undefined;
    if (at === undefined) {
      return { rows: [], fileError: { line: 1, message: `no <${p}> element on the path ${recordPath}` } };
    }
  }
  const last = path[path.length - 1] as string;
  const list = at !== null && typeof at === "object" ? (at as Values)[last] : undefined;
  const elements = Array.isArray(list) ? list : [];
  const lines = elementLines(text, last);
  const rows = elements.map((el: unknown, i): Row => {
    const line = lines.length === elements.length ? (lines[i] as number) : i + 1;
    if (el === null || typeof el !== "object") {
      return { line, values: null, error: `<${last}> holds no fields` };
    }
    return { line, values: el as Values, error: null };
  });
  return { rows, fileError: null };
}

/** Lines where each <name …> element starts (to give XML records a line number). */
function elementLines(text: string, name: string): number[] {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`<${escaped}(?=[\\s>/])`, "g");
  const out: number[] = [];
  let line = 1;
  let from = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    for (let i = from; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
    from = m.index;
    out.push(line);
  }
  return out;
}

/** Nested fields as dotted columns; lists as JSON text. */
export function flatten(values: Values, prefix = "", out: Values = {}): Values {
  for (const [k, v] of Object.entries(values)) {
    const name = prefix === "" ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v as Values, name, out);
    else if (Array.isArray(v)) out[name] = JSON.stringify(v);
    else out[name] = v;
  }
  return out;
}

/** Rows → file text in the entity's format. */
export function formatRows(rows: Values[], settings: EntityFiles): string {
  const write = settings.write;
  switch (settings.format) {
    case "jsonl":
      return rows.map((r) => `${JSON.stringify(r)}\n`).join("");
    case "csv": {
      const flat = rows.map((r) => commaNumbers(flatten(r), settings));
      const columns: string[] = [];
      for (const r of flat) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
      return stringifyCsv(flat, {
        header: settings.header,
        columns,
        delimiter: settings.delimiter,
        cast: { boolean: (b) => (b ? "true" : "false") },
      });
    }
    case "xml": {
      const builder = new XMLBuilder({
        ignoreAttributes: false,
        attributeNamePrefix: "@",
        format: true,
        suppressEmptyNode: true,
      });
      const root = write?.root ?? "records";
      const element = write?.element ?? "record";
      const body = builder.build({
        [root]: { [element]: rows.map((r) => commaNumbers({ ...r }, settings)) },
      }) as string;
      const name = settings.encoding === "utf-8" ? "UTF-8" : settings.encoding.toUpperCase();
      return `<?xml version="1.0" encoding="${name}"?>\n${body}`;
    }
  }
}

/** Number columns written 1234,56 when the entity uses decimal commas. */
function commaNumbers(values: Values, settings: EntityFiles): Values {
  if (!settings.decimalComma) return values;
  for (const c of settings.numbers) {
    const v = values[c];
    if (typeof v === "string" || typeof v === "number") values[c] = String(v).replace(".", ",");
  }
  return values;
}
