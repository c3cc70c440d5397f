/**
 * Reading an entity's files: new files matching the pattern, in name order, once complete (a `.done`
 * marker, or the same size and modification time at two looks); each row a record, each bad row a record
 * that fails with the file, the line and the reason. A file is consumed only once the engine has committed
 * every record of it (`committed`): its sha256 is then recorded in the store's marks and it moves to
 * `processed/` (or `failed/`, when not one of its rows could be read). A file whose sha256 is recorded is
 * never read again, under whatever name it comes back.
 */
import { SyncError } from "../../core/errors.ts";
import { type EntityName, SCHEMAS } from "../../core/model.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import type { MarkStore } from "../../ports/marks.ts";
import { applyFields, canonicalKey } from "../record-mapping.ts";
import { type EntityContext, type FileClient, sha256 } from "./client.ts";
import { decode, normaliseNumbers, streamRows, type Values } from "./formats.ts";
import type { FileEntry } from "./fs.ts";

export const PROCESSED = "processed";
export const FAILED = "failed";

/** One row of a file (or, for a file that cannot be read, the file itself: line 0 or its error's line). */
export interface FileRecord {
  file: string;
  sha256: string;
  line: number;
  /** The file's modification time, ISO 8601: the records' updatedAt unless a field says otherwise. */
  modifiedAt: string;
  /** The row as read, numbers normalised; null when the row could not be read. */
  row: Values | null;
  /** The canonical record made from the row; null when it could not be made. */
  canonical: Values | null;
  /** Why the row is not a record. */
  error: string | null;
  field?: string;
}

export const recordId = (r: Pick<FileRecord, "file" | "sha256" | "line">): string =>
  `${r.file}@${r.sha256.slice(0, 12)}#${r.line}`;

/** `<file>@<sha256 prefix>#<line>` or `<file>#<line>`. */
function parseId(id: string): { file: string; sha: string | null; line: number } | null {
  const m = /^(.+?)(?:@([0-9a-f]{12}))?#(\d+)$/.exec(id);
  if (!m) return null;
  return { file: m[1] as string, sha: m[2] ?? null, line: Number(m[3]) };
}

export const markName = (system: string, entity: EntityName, sha: string): string =>
  `file:${system}:${entity}:sha256:${sha}`;

/** The records of one file, bad rows included, one at a time. */
export async function* recordsIn(
  client: FileClient,
  ctx: EntityContext,
  file: string,
  bytes: Buffer,
  modifiedAt: string,
): AsyncGenerator<FileRecord> {
  const hash = sha256(bytes);
  const base = { file, sha256: hash, modifiedAt };
  const text = decode(bytes, ctx.settings.encoding);
  // Bytes that are not UTF-8 decode to U+FFFD: a Windows-1252 export read as UTF-8 would turn every é into
  // it, silently. Such rows fail, saying which setting to look at.
  const notUtf8 =
    ctx.settings.encoding === "utf-8" &&
    text.includes("\uFFFD") &&
    !bytes.includes(Buffer.from([0xef, 0xbf, 0xbd]));
  for await (const row of streamRows(text, ctx.settings)) {
    const rec: FileRecord = { ...base, line: row.line, row: row.values, canonical: null, error: row.error };
    if (row.field !== undefined) rec.field = row.field;
    if (row.values) await toRecord(client, ctx, rec, row.values, notUtf8);
    yield rec;
  }
}

/** Row → canonical record on `rec`, or the reason it cannot be one. */
async function toRecord(
  client: FileClient,
  ctx: EntityContext,
  rec: FileRecord,
  values: Values,
  notUtf8: boolean,
): Promise<void> {
  if (notUtf8 && JSON.stringify(values).includes("\uFFFD")) {
    rec.error =
      "holds bytes that are not UTF-8: the file is probably windows-1252 or iso-8859-1 (set encoding)";
    return;
  }
  const problem = normaliseNumbers(values, ctx.settings);
  if (problem) {
    rec.error = problem.message;
    rec.field = problem.field;
    return;
  }
  try {
    const mapped = ctx.read ? await applyFields(ctx.read, values) : structuredClone(values);
    const canonical: Values = {
      ...mapped,
      key: canonicalKey(ctx.entity, mapped),
      source: client.name,
      sourceId: recordId(rec),
      updatedAt: mapped.updatedAt ?? rec.modifiedAt,
    };
    if (canonical.key === undefined) delete canonical.key;
    const valid = SCHEMAS[ctx.entity].safeParse(canonical);
    if (!valid.success) {
      const issues = valid.error.issues.slice(0, 3);
      rec.error = issues.map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`).join("; ");
      const first = issues[0]?.path.join(".");
      if (first) rec.field = first;
      return;
    }
    rec.canonical = canonical;
  } catch (e) {
    rec.error = e instanceof Error ? e.message : String(e);
    const field = e instanceof SyncError ? e.details.field : undefined;
    if (field !== undefined) rec.field = field;
  }
}

interface Reading {
  sha256: string;
  /** Records of the file yielded so far, and of those, committed by the engine. */
  yielded: number;
  committed: number;
  /** Every record of the file has been read. */
  done: boolean;
  /** At least one row became a record (otherwise the file goes to failed/). */
  anyRead: boolean;
}

export class FileStream<E extends EntityName> implements Stream<E, FileRecord> {
  readonly sorted = false;
  /** Files being read, by name: how many of their records the engine has committed. */
  readonly #reading = new Map<string, Reading>();

  constructor(
    readonly entity: E,
    private readonly client: FileClient,
  ) {}

  private get ctx(): EntityContext {
    return this.client.entity(this.entity);
  }

  /** The files ready to read, in name order. */
  async ready(signal?: AbortSignal): Promise<FileEntry[]> {
    const { files, config } = this.client;
    const ctx = this.ctx;
    const look = async () => {
      const all = await files.list("");
      const names = new Set(all.map((f) => f.name));
      return {
        names,
        candidates: all.filter(
          (f) => !f.name.startsWith(".") && ctx.pattern.test(f.name) && !f.name.endsWith(".done"),
        ),
      };
    };
    const first = await look();
    let ready: FileEntry[];
    if (config.doneMarker) {
      ready = first.candidates.filter((f) => first.names.has(`${f.name}.done`));
    } else if (first.candidates.length === 0 || config.settleMs === 0) {
      ready = first.candidates;
    } else {
      // Still being written (or uploaded) if it changes between two looks.
      await this.client.sleep(config.settleMs);
      signal?.throwIfAborted();
      const again = new Map((await look()).candidates.map((f) => [f.name, f]));
      ready = first.candidates.filter((f) => {
        const b = again.get(f.name);
        return b !== undefined && b.size === f.size && b.mtimeMs === f.mtimeMs;
      });
    }
    return ready.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async *list(req: ListRequest): AsyncGenerator<FileRecord[]> {
    const { files } = this.client;
    const ctx = this.ctx;
    const size = Math.max(1, Math.min(req.pageSize, this.client.config.pageSize));
    let page: FileRecord[] = [];
    for (const f of await this.ready(req.signal)) {
      req.signal?.throwIfAborted();
      let bytes: Buffer;
      try {
        bytes = await files.read(f.name);
      } catch (e) {
        // Taken away since the listing (by another reader, or its sender): nothing to read.
        if (!(await files.exists(f.name))) continue;
        throw e;
      }
      const hash = sha256(bytes);
      const seen = req.marks ? await req.marks.getMark(markName(this.client.name, this.entity, hash)) : null;
      if (seen !== null && req.marks) {
        // The same content was processed before (under this name or another): never again. It goes where
        // that content went (a move interrupted after its checksum was recorded ends here too).
        await this.archive(f.name, outcomeOf(seen));
        continue;
      }
      const reading: Reading = { sha256: hash, yielded: 0, committed: 0, done: false, anyRead: false };
      this.#reading.set(f.name, reading);
      for await (const r of recordsIn(this.client, ctx, f.name, bytes, new Date(f.mtimeMs).toISOString())) {
        reading.yielded++;
        if (r.canonical !== null) reading.anyRead = true;
        page.push(r);
        if (page.length >= size) {
          yield page;
          page = [];
        }
      }
      reading.done = true;
      // Every record of it committed already (or none at all): consumed now; only a sync run gives marks.
      if (req.marks && reading.committed >= reading.yielded) await this.settle(f.name, reading, req.marks);
    }
    if (page.length > 0) yield page;
  }

  async committed(page: FileRecord[], marks: MarkStore): Promise<void> {
    for (const r of page) {
      const reading = this.#reading.get(r.file);
      if (!reading || reading.sha256 !== r.sha256) continue;
      reading.committed++;
      if (reading.done && reading.committed >= reading.yielded) await this.settle(r.file, reading, marks);
    }
  }

  /** A file read to its end whose every record is committed: consumed, once. */
  private async settle(file: string, reading: Reading, marks: MarkStore): Promise<void> {
    if (this.#reading.get(file) !== reading) return;
    this.#reading.delete(file);
    const to = reading.yielded > 0 && !reading.anyRead ? FAILED : PROCESSED;
    await this.finish(file, reading.sha256, to, marks);
  }

  /** Records the file's checksum, then moves it (and its .done marker) out of the way. */
  private async finish(file: string, hash: string, to: string, marks: MarkStore): Promise<void> {
    await marks.setMark(
      markName(this.client.name, this.entity, hash),
      JSON.stringify({ file, outcome: to, at: new Date().toISOString() }),
    );
    await this.archive(file, to);
  }

  private async archive(file: string, to: string): Promise<void> {
    const { files } = this.client;
    await files.mkdirp(to);
    const target = await freeName(this.client, to, file);
    await files.move(file, `${to}/${target}`);
    if (this.client.config.doneMarker && (await files.exists(`${file}.done`))) {
      await files.move(`${file}.done`, `${to}/${target}.done`);
    }
  }

  async get(id: string): Promise<FileRecord | null> {
    const ref = parseId(id);
    if (!ref) return null;
    const { files } = this.client;
    for (const dir of ["", PROCESSED, FAILED]) {
      const listed = await files.list(dir);
      // Archived files keep their name, or get a ~n suffix when one of that name was archived before.
      const stem = ref.file.replace(/(\.[^.]*)?$/, "");
      const ext = ref.file.slice(stem.length);
      const names = listed.filter(
        (f) =>
          f.name === ref.file ||
          (dir !== "" && new RegExp(`^${escapeRe(stem)}~\\d+${escapeRe(ext)}$`).test(f.name)),
      );
      for (const f of names) {
        const path = dir === "" ? f.name : `${dir}/${f.name}`;
        const bytes = await files.read(path);
        if (ref.sha && !sha256(bytes).startsWith(ref.sha)) continue;
        // Lines only grow: read up to the one asked for.
        const at = new Date(f.mtimeMs).toISOString();
        for await (const r of recordsIn(this.client, this.ctx, ref.file, bytes, at)) {
          if (r.line === ref.line) return r;
          if (r.line > ref.line) break;
        }
      }
    }
    return null;
  }

  idOf(native: FileRecord): string {
    return recordId(native);
  }

  updatedAtOf(native: FileRecord): string {
    const u = native.canonical?.updatedAt;
    return typeof u === "string" ? u : native.modifiedAt;
  }

  toCanonical(native: FileRecord) {
    if (native.canonical === null) {
      const where = native.line > 0 ? `${native.file} line ${native.line}` : native.file;
      throw new SyncError("data", `${where}: ${native.error ?? "cannot be read"}`, {
        system: this.client.name,
        ...(native.field !== undefined ? { field: native.field } : {}),
      });
    }
    return structuredClone(native.canonical) as never;
  }
}

/** Where a file whose checksum is recorded went: failed/ or processed/. */
function outcomeOf(mark: string): string {
  try {
    return (JSON.parse(mark) as { outcome?: unknown }).outcome === FAILED ? FAILED : PROCESSED;
  } catch {
    return PROCESSED;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `name` in `dir`, or `stem~n.ext` when a file of that name is there already. */
export async function freeName(client: FileClient, dir: string, name: string): Promise<string> {
  const taken = new Set((await client.files.list(dir)).map((f) => f.name));
  if (!taken.has(name)) return name;
  const stem = name.replace(/(\.[^.]*)?$/, "");
  const ext = name.slice(stem.length);
  for (let n = 2; ; n++) {
    const candidate = `${stem}~${n}${ext}`;
    if (!taken.has(candidate)) return candidate;
  }
}
