/**
 * Writing an entity: one file per batch, atomically (a temporary name in the same folder, flushed, then
 * renamed), in the entity's format, encoding and delimiter. The file's name is the prefix, the time it was
 * written and the hash of its content; `sent/` keeps a copy and the list of record keys of every file
 * delivered, written last. A batch whose content was the last delivery of each of its records is not
 * written again (the rerun of an interrupted batch writes nothing), and `findByExternalRef` knows a record
 * from sent/ even after the receiving system has taken its file away. A record's id here is its key.
 */
import { createHash } from "node:crypto";
import { SyncError } from "../../core/errors.ts";
import type { CanonicalByEntity, EntityName } from "../../core/model.ts";
import type { PlannedPage, WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import { applyFields } from "../record-mapping.ts";
import type { FileClient } from "./client.ts";
import { decode, encode, formatRows, parseText, type Values } from "./formats.ts";

export const SENT = "sent";
const MANIFEST = ".keys.json";

const EXTENSIONS = { csv: "csv", jsonl: "jsonl", xml: "xml" } as const;

/** 2026-12-03T09:29:16.123Z → 20261203T092916123Z: file names that sort in the order they were written. */
function stamp(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, "");
}

export class FileWriter<E extends EntityName> implements Writer<E> {
  /** Manifests of sent/ already read: file name → record keys (a sent file never changes). */
  readonly #manifests = new Map<string, string[]>();

  constructor(
    readonly entity: E,
    private readonly client: FileClient,
  ) {}

  private get ctx() {
    const ctx = this.client.entity(this.entity);
    if (!ctx.settings.write) {
      throw new SyncError(
        "config",
        `${this.client.name}: ${this.entity} files are read only here; give entities.${this.entity}.write (prefix, fields) to write them`,
        { system: this.client.name },
      );
    }
    return { ...ctx, write: ctx.write, settings: { ...ctx.settings, write: ctx.settings.write } };
  }

  /** The record as the file holds it. */
  private async rowOf(record: CanonicalByEntity[E]): Promise<Values> {
    const { write } = this.ctx;
    if (!write) return structuredClone(record) as Values;
    return applyFields(write, record as Values);
  }

  async upsert(items: WriteItem<E>[], _ctx: unknown): Promise<WriteResult[]> {
    const { settings } = this.ctx;
    const { files } = this.client;
    const results: WriteResult[] = [];
    const good: { item: WriteItem<E>; row: Values }[] = [];
    for (const item of items) {
      try {
        const row = await this.rowOf(item.record);
        const bytes = encode(formatRows([row], settings), settings.encoding);
        if (!Buffer.isBuffer(bytes)) {
          results.push({
            key: item.key,
            ok: false,
            error: new SyncError(
              "data",
              `${item.key}: ${JSON.stringify(bytes.bad)} cannot be written in ${settings.encoding}`,
              { system: this.client.name },
            ),
          });
          continue;
        }
        good.push({ item, row });
      } catch (e) {
        const err =
          e instanceof SyncError ? e : new SyncError("data", e instanceof Error ? e.message : String(e));
        results.push({ key: item.key, ok: false, error: err });
      }
    }
    if (good.length === 0) return results;

    const text = formatRows(
      good.map((g) => g.row),
      settings,
    );
    const bytes = encode(text, settings.encoding) as Buffer;
    const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
    const ending = `-${hash}.${EXTENSIONS[settings.format]}`;
    // Where each record is in the file, as the reader numbers it.
    const lines = (await parseText(text, settings)).rows.map((r) => r.line);
    const keys = good.map((g) => g.item.key);

    // Delivered already: a file of this very content is, for each of its records, the last one sent (an
    // A → B → A change is delivered again; the rerun of an interrupted batch is not).
    const sent = await this.sent();
    let name = sent.find((n) => n.endsWith(ending)) ?? null;
    if (name !== null) {
      for (const key of keys) {
        if ((await this.lastWith(sent, key)) !== name) {
          name = null;
          break;
        }
      }
    }
    const already = name !== null;
    if (name === null) {
      // A file of this content in the folder that sent/ does not list is this very batch, delivered just
      // before an interruption (one sent/ lists is an earlier delivery, which a change back must follow).
      const delivered = (await files.list("")).find(
        (f) => f.name.startsWith(settings.write.prefix) && f.name.endsWith(ending) && !sent.includes(f.name),
      );
      name = delivered?.name ?? `${settings.write.prefix}${stamp(new Date())}${ending}`;
      if (!delivered) await files.writeAtomic(name, bytes);
      await files.mkdirp(SENT);
      await files.writeAtomic(`${SENT}/${name}`, bytes);
      await files.writeAtomic(`${SENT}/${name}${MANIFEST}`, Buffer.from(JSON.stringify({ keys }), "utf8"));
      this.#manifests.set(name, keys);
    }
    good.forEach((g, i) => {
      results.push({
        key: g.item.key,
        ok: true,
        targetId: g.item.key,
        action: already ? "unchanged" : g.item.targetId ? "updated" : "created",
        note: `${already ? "already delivered in" : "written to"} ${name} line ${lines[i] ?? i + 1}`,
      });
    });
    return results;
  }

  /** Files delivered so far (their copies in sent/), newest first. */
  private async sent(): Promise<string[]> {
    const { settings } = this.ctx;
    return (await this.client.files.list(SENT))
      .map((f) => f.name)
      .filter((n) => n.startsWith(settings.write.prefix) && n.endsWith(MANIFEST))
      .map((n) => n.slice(0, -MANIFEST.length))
      .sort()
      .reverse();
  }

  private async keysOf(name: string): Promise<string[]> {
    let keys = this.#manifests.get(name);
    if (!keys) {
      const raw = await this.client.files.read(`${SENT}/${name}${MANIFEST}`);
      keys = (JSON.parse(raw.toString("utf8")) as { keys: string[] }).keys;
      this.#manifests.set(name, keys);
    }
    return keys;
  }

  /** The newest file sent holding the key. */
  private async lastWith(sent: string[], key: string): Promise<string | null> {
    for (const name of sent) if ((await this.keysOf(name)).includes(key)) return name;
    return null;
  }

  /** The last delivery of a record: its file, its line, and the record as the file holds it. */
  async delivered(key: string): Promise<{ file: string; line: number; row: Values } | null> {
    const { settings } = this.ctx;
    for (const name of await this.sent()) {
      const i = (await this.keysOf(name)).lastIndexOf(key);
      if (i < 0) continue;
      const text = decode(await this.client.files.read(`${SENT}/${name}`), settings.encoding);
      const row = (await parseText(text, settings)).rows[i];
      if (!row?.values) return null;
      return { file: name, line: row.line, row: row.values };
    }
    return null;
  }

  /** A record delivered before is known by its key (the target id of every record written here). */
  async findByExternalRef(externalRef: string): Promise<string | null> {
    return (await this.lastWith(await this.sent(), externalRef)) === null ? null : externalRef;
  }

  estimateCalls(page: PlannedPage<E>): number {
    const n = page.create.length + page.update.length;
    // The file, its copy and its key list; plus the looks in sent/ for interrupted creates.
    return (n > 0 ? 5 : 0) + page.lookups.length;
  }
}
