/**
 * What a file connection can tell about its records: for each configured entity, the newest file its
 * pattern matches (waiting in the folder, else already in processed/), read the same way the stream reads
 * it — encoding, delimiter, header, XML record path — and the fields its first rows carry, with a type
 * guessed from their values and the first value seen as an example. Reads only: nothing is moved.
 */
import type { EntityName } from "../../core/model.ts";
import type { DiscoveredField, DiscoveredShape } from "../../ports/discovery.ts";
import type { FileClient } from "./client.ts";
import type { EntityFiles } from "./config.ts";
import { decode, flatten, normaliseNumbers, streamRows, type Values } from "./formats.ts";
import type { FileEntry } from "./fs.ts";

/** Rows looked at per file: enough to see a field that is often empty, few enough for a large export. */
const SAMPLE_ROWS = 50;

function typeOf(value: unknown): string {
  if (value === null || value === undefined || value === "") return "empty";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "boolean") return "boolean";
  if (typeof value !== "string") return "string";
  if (/^-?\d+$/.test(value)) return "integer";
  if (/^-?\d+\.\d+$/.test(value)) return "decimal";
  if (/^-?(\d{1,3}(\.\d{3})+|\d+),\d+$/.test(value)) return "decimal-comma";
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)) return "date-time";
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return "date";
  return "string";
}

/** The wider of two guessed types: integer within decimal, anything else within string. */
function widen(a: string | undefined, b: string): string {
  if (a === undefined || a === "empty") return b;
  if (b === "empty" || a === b) return a;
  if (
    (a === "integer" && (b === "decimal" || b === "number")) ||
    (b === "integer" && (a === "decimal" || a === "number"))
  )
    return "decimal";
  return "string";
}

async function sampleFile(
  client: FileClient,
  dir: string,
  entry: FileEntry,
  settings: EntityFiles,
): Promise<{ fields: DiscoveredField[]; notes: string[] }> {
  const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
  const text = decode(await client.files.read(path), settings.encoding);
  const types = new Map<string, string>();
  const examples = new Map<string, string>();
  const empties = new Set<string>();
  const notes: string[] = [];
  let rows = 0;
  for await (const row of streamRows(text, settings)) {
    if (row.file) {
      notes.push(`${entry.name} line ${row.line}: ${row.error}`);
      break;
    }
    if (!row.values) continue;
    const raw = { ...row.values };
    const problem = normaliseNumbers(raw, settings);
    if (problem) notes.push(`${entry.name} line ${row.line}: ${problem.message}`);
    const values: Values = flatten(problem ? row.values : raw);
    for (const [name, value] of Object.entries(values)) {
      const t = typeOf(value);
      types.set(name, widen(types.get(name), t));
      if (t === "empty") empties.add(name);
      else if (!examples.has(name)) examples.set(name, String(value));
    }
    if (++rows >= SAMPLE_ROWS) break;
  }
  if (rows === 0) notes.push(`${entry.name} has no rows to look at`);
  const comma = [...types].filter(([, t]) => t === "decimal-comma").map(([n]) => n);
  if (comma.length > 0) {
    notes.push(
      `${comma.join(", ")} hold numbers written with a decimal comma: list them under numbers: and set decimalComma: true`,
    );
  }
  const fields = [...types].map(([name, type]) => ({
    name,
    type: type === "empty" ? "unknown" : type,
    ...(empties.has(name) ? { nullable: true } : {}),
    ...(examples.has(name) ? { example: examples.get(name) as string } : {}),
  }));
  return { fields, notes };
}

export async function discoverFiles(client: FileClient): Promise<DiscoveredShape[]> {
  const shapes: DiscoveredShape[] = [];
  for (const entity of Object.keys(client.config.entities) as EntityName[]) {
    const ctx = client.entity(entity);
    const name = `${ctx.settings.pattern} (${ctx.settings.format})`;
    let found: { dir: string; entry: FileEntry } | undefined;
    for (const dir of ["", "processed"]) {
      const newest = (await client.files.list(dir))
        .filter((f) => !f.name.startsWith(".") && !f.name.endsWith(".done") && ctx.pattern.test(f.name))
        .sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : -1))[0];
      if (newest) {
        found = { dir, entry: newest };
        break;
      }
    }
    if (!found) {
      // A header-less CSV names its columns in the settings; that is all there is to tell.
      const columns = ctx.settings.columns ?? [];
      shapes.push({
        name,
        entity,
        fields: columns.map((c) => ({ name: c, type: "unknown" })),
        notes: [`no file matching ${ctx.settings.pattern} in ${client.files.where} or its processed/ folder`],
      });
      continue;
    }
    const { fields, notes } = await sampleFile(client, found.dir, found.entry, ctx.settings);
    const where = found.dir === "" ? found.entry.name : `${found.dir}/${found.entry.name}`;
    shapes.push({ name, entity, fields, notes: [`read from ${where}`, ...notes] });
  }
  return shapes;
}
