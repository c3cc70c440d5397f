/**
 * Writing an entity: one file per batch, atomically (a temporary name in the same folder, flushed, then
 * renamed), in the entity's format, encoding and delimiter. The file's name is the prefix, the batch's
 * latest change and the hash of its content, so the same batch always gets the same name; `sent/` keeps a
 * copy and the list of record keys of every file delivered, written last. A batch whose file is listed in
 * `sent/` is not written again (a rerun after a crash writes nothing), and `findByExternalRef` finds a
 * record's file and line there even after the receiving system has taken the file away.
 */
import { createHash } from "node:crypto";
import { SyncError } from "../../core/errors.ts";
import type { CanonicalByEntity, EntityName } from "../../core/model.ts";
import type { PlannedPage, WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import type { FileClient } from "./client.ts";
import { decode, encode, formatRows, parseText, type Values } from "./formats.ts";

export const SENT = "sent";
const MANIFEST = ".keys.json";

const EXTENSIONS = { csv: "csv", jsonl: "jsonl", xml: "xml" } as const;

function stamp(iso: string): string {
  return iso.replace(/[-:]/g, "").replace(/\.\d+/, "").replace(/Z$/, "Z");
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
    const all = await write.mapping.apply(record as Values);
    const out: Values = {};
    for (const f of write.fields) if (all[f] !== undefined) out[f] = all[f];
    return out;
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
    const latest = good
      .map((g) => g.item.record.updatedAt)
      .sort()
      .at(-1) as string;
    const name = `${settings.write.prefix}${stamp(latest)}-${hash}.${EXTENSIONS[settings.format]}`;
    // Where each record is in the file, as the reader numbers it.
    const lines = parseText(text, settings).rows.map((r) => r.line);
    const keys = good.map((g) => g.item.key);

    let action: "unchanged" | null = null;
    if (await files.exists(`${SENT}/${name}${MANIFEST}`)) {
      action = "unchanged";
    } else {
      // A file already in the folder under this name is this very batch, delivered before an interruption.
      if (!(await files.exists(name))) await files.writeAtomic(name, bytes);
      await files.mkdirp(SENT);
      await files.writeAtomic(`${SENT}/${name}`, bytes);
      await files.writeAtomic(`${SENT}/${name}${MANIFEST}`, Buffer.from(JSON.stringify({ keys }), "utf8"));
      this.#manifests.set(name, keys);
    }
    good.forEach((g, i) => {
      results.push({
        key: g.item.key,
        ok: true,
        targetId: `${name}#${lines[i] ?? i + 1}`,
        action: action ?? (g.item.targetId ? "updated" : "created"),
        note: action ? `already delivered in ${name}` : `written to ${name}`,
      });
    });
    return results;
  }

  async findByExternalRef(externalRef: string): Promise<string | null> {
    const { settings } = this.ctx;
    const { files } = this.client;
    const sent = (await files.list(SENT))
      .map((f) => f.name)
      .filter((n) => n.startsWith(settings.write.prefix) && n.endsWith(MANIFEST))
      .map((n) => n.slice(0, -MANIFEST.length))
      .sort()
      .reverse();
    for (const name of sent) {
      let keys = this.#manifests.get(name);
      if (!keys) {
        const parsed = JSON.parse((await files.read(`${SENT}/${name}${MANIFEST}`)).toString("utf8")) as {
          keys: string[];
        };
        keys = parsed.keys;
        this.#manifests.set(name, keys);
      }
      const i = keys.indexOf(externalRef);
      if (i < 0) continue;
      const copy = await files.read(`${SENT}/${name}`);
      const text = decode(copy, settings.encoding);
      const line = parseText(text, settings).rows[i]?.line ?? i + 1;
      return `${name}#${line}`;
    }
    return null;
  }

  estimateCalls(page: PlannedPage<E>): number {
    const n = page.create.length + page.update.length;
    // The file, its copy and its key list; plus the looks in sent/ for interrupted creates.
    return (n > 0 ? 5 : 0) + page.lookups.length;
  }
}
