/**
 * Reading an entity over REST: the list path page by page in the configured style (page numbers, offsets,
 * a cursor the answer gives, the Link header's next URL), the records at the configured place in each
 * answer, and with a cursor the incremental filter parameter set a little before it (records at or before
 * the cursor are dropped by the engine; those before the window by the stream, for APIs without a filter).
 * A record that cannot be mapped fails alone, with the reason, when the engine maps it.
 */
import LinkHeader from "http-link-header";
import { compareCursors } from "../../core/cursor.ts";
import { SyncError } from "../../core/errors.ts";
import type { CanonicalInputByEntity, EntityName } from "../../core/model.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { applyRows, naturalKey, type Values } from "../rows.ts";
import { type EntityContext, fill, type RestClient, select } from "./client.ts";
import type { TIME_FORMATS } from "./config.ts";

const EPOCH = "1970-01-01T00:00:00.000Z";
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * A record's change time as ISO 8601 (UTC), or null: ISO 8601 with or without a zone (without: UTC, as
 * WooCommerce's `*_gmt` fields), or epoch seconds (or milliseconds, from 10^12 on).
 */
export function parseTime(v: unknown): string | null {
  let ms: number;
  if (typeof v === "number" && Number.isFinite(v)) ms = v >= 1e12 ? v : v * 1000;
  else if (typeof v === "string" && v.trim() !== "") {
    const s = v.trim();
    if (/^\d+(\.\d+)?$/.test(s)) ms = Number(s) >= 1e12 ? Number(s) : Number(s) * 1000;
    else ms = Date.parse(LOCAL_TIME.test(s) ? `${s.replace(" ", "T")}Z` : s);
  } else return null;
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** A time as the incremental parameter wants it. */
export function formatTime(ms: number, format: (typeof TIME_FORMATS)[number]): string {
  const iso = new Date(ms).toISOString();
  switch (format) {
    case "iso":
      return iso;
    case "iso-seconds":
      return iso.replace(/\.\d+Z$/, "Z");
    case "iso-local":
      return iso.replace(/\.\d+Z$/, "");
    case "epoch":
      return String(Math.floor(ms / 1000));
    case "epoch-ms":
      return String(ms);
  }
}

function recordsOf(client: RestClient, ctx: EntityContext, path: string, body: unknown): Values[] {
  const at = ctx.settings.list.records;
  const rows = select(body, at);
  if (!Array.isArray(rows)) {
    throw new SyncError(
      "permanent",
      client.http.redact(
        `${client.name}: the answer to GET ${path} has no array of records at ${at === "" ? "its top level" : JSON.stringify(at)} (entities.${ctx.entity}.list.records)`,
      ),
      { system: client.name },
    );
  }
  return rows.filter((r): r is Values => r !== null && typeof r === "object" && !Array.isArray(r));
}

export class RestStream<E extends EntityName> implements Stream<E, Values> {
  /** Records of a sorted list without a readable change time, and the time they are ordered at. */
  readonly #untimed = new WeakMap<Values, string>();

  constructor(
    readonly entity: E,
    private readonly client: RestClient,
  ) {}

  private get ctx(): EntityContext {
    return this.client.entity(this.entity);
  }

  get sorted(): boolean {
    return this.client.config.entities[this.entity]?.list.sorted ?? false;
  }

  /** The pages the API gives, each as its records, in the configured pagination style. */
  private async *pages(req: ListRequest): AsyncGenerator<Values[]> {
    const ctx = this.ctx;
    const list = ctx.settings.list;
    const size = Math.max(1, Math.min(req.pageSize || list.maxPageSize, list.maxPageSize));
    const params: Record<string, string | number | boolean | undefined> = { ...list.params };
    if (req.since && list.incremental) {
      const inc = list.incremental;
      params[inc.param] = formatTime(Date.parse(req.since.updatedAt) - inc.overlapSeconds * 1000, inc.format);
    }
    const signal = req.signal ? { signal: req.signal } : {};
    const get = async (path: string) => {
      const answer = await this.client.getJson(path, signal);
      if (answer === null) throw new SyncError("permanent", `${this.client.name}: GET ${path} answered 404`);
      return { rows: recordsOf(this.client, ctx, path, answer.body), ...answer };
    };
    const p = list.pagination;
    switch (p.style) {
      case "none": {
        yield (await get(this.client.url(list.path, params))).rows;
        return;
      }
      case "page": {
        for (let page = p.firstPage; ; page++) {
          const { rows, headers } = await get(
            this.client.url(list.path, { ...params, [p.pageParam]: page, [p.sizeParam]: size }),
          );
          if (rows.length > 0) yield rows;
          const total = p.totalPagesHeader ? Number(headers.get(p.totalPagesHeader)) : Number.NaN;
          if (rows.length < size || (Number.isFinite(total) && page - p.firstPage + 1 >= total)) return;
        }
      }
      case "offset": {
        for (let offset = 0; ; ) {
          const { rows } = await get(
            this.client.url(list.path, { ...params, [p.offsetParam]: offset, [p.limitParam]: size }),
          );
          if (rows.length > 0) yield rows;
          if (rows.length < size) return;
          offset += rows.length;
        }
      }
      case "cursor": {
        let cursor: string | undefined;
        for (;;) {
          const { rows, body } = await get(
            this.client.url(list.path, { ...params, [p.sizeParam]: size, [p.cursorParam]: cursor }),
          );
          if (rows.length > 0) yield rows;
          const next = select(body, p.next);
          if (rows.length === 0 || next === undefined || next === null || next === "" || next === false)
            return;
          if (String(next) === cursor) {
            throw new SyncError(
              "permanent",
              `${this.client.name}: GET ${list.path} gave the same next cursor twice (${p.next}); the list would never end`,
              { system: this.client.name },
            );
          }
          cursor = String(next);
        }
      }
      case "link": {
        let url = this.client.url(list.path, { ...params, [p.sizeParam]: size });
        const seen = new Set<string>();
        for (;;) {
          const { rows, headers } = await get(url);
          if (rows.length > 0) yield rows;
          const link = headers.get("link");
          const next = link ? LinkHeader.parse(link).rel(p.rel)[0]?.uri : undefined;
          if (!next || rows.length === 0) return;
          // Relative to the page it came with; the API key (in the query) is set again on it. Followed on
          // baseUrl's own scheme, host and port: credentials never go to a host the answer names (a shop
          // behind a proxy names its public address).
          const baseUrl = this.client.config.baseUrl.replace(/\/+$/, "");
          const target = new URL(next, /^https?:\/\//i.test(url) ? url : `${baseUrl}${url}`);
          const origin = new URL(baseUrl);
          target.protocol = origin.protocol;
          target.host = origin.host;
          url = this.client.url(target.href);
          if (seen.has(url)) return;
          seen.add(url);
        }
      }
    }
  }

  async *list(req: ListRequest): AsyncGenerator<Values[]> {
    const since = req.since ? Date.parse(req.since.updatedAt) : null;
    const size = Math.max(1, req.pageSize || this.ctx.settings.list.maxPageSize);
    // Sorted: records of the page's last instant wait for the next page, where more of that instant may
    // come (APIs sort by change time alone, ties in any order), so what is yielded is in (time, id) order.
    let carry: Values[] = [];
    const untimed: Values[] = [];
    const chunks = function* (records: Values[]) {
      for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
    };
    for await (const rows of this.pages(req)) {
      // APIs without a change filter (or one of coarser grain) give records from before the window.
      const kept =
        since === null
          ? rows
          : rows.filter((r) => {
              const t = parseTime(this.rawTime(r));
              return t === null || Date.parse(t) >= since;
            });
      if (!this.sorted) {
        if (kept.length > 0) yield kept;
        continue;
      }
      const byId = new Map<string, Values>();
      for (const r of [...carry, ...kept]) {
        if (parseTime(this.rawTime(r)) === null) {
          // No time to order it by: it comes last, stamped with the sync's start (so the engine, whose
          // cursor never passes that, does not take it for one already read), and fails when mapped.
          this.#untimed.set(r, req.signpost);
          untimed.push(r);
        } else byId.set(this.idOf(r), r);
      }
      const all = [...byId.values()].sort((a, b) =>
        compareCursors(
          { updatedAt: this.updatedAtOf(a), id: this.idOf(a) },
          { updatedAt: this.updatedAtOf(b), id: this.idOf(b) },
        ),
      );
      const lastAt = all.length > 0 ? this.updatedAtOf(all[all.length - 1] as Values) : null;
      const ready = all.filter((r) => this.updatedAtOf(r) !== lastAt);
      carry = all.filter((r) => this.updatedAtOf(r) === lastAt);
      yield* chunks(ready);
    }
    yield* chunks(carry);
    yield* chunks(untimed);
  }

  async get(id: string): Promise<Values | null> {
    const s = this.ctx.settings;
    const g = s.get ?? { path: `${s.list.path.replace(/\/+$/, "")}/{id}`, record: "" };
    const answer = await this.client.getJson(this.client.url(fill(g.path, id)), { missing: true });
    if (answer === null) return null;
    const record = select(answer.body, g.record);
    return record !== null && typeof record === "object" && !Array.isArray(record)
      ? (record as Values)
      : null;
  }

  idOf(native: Values): string {
    const id = select(native, this.ctx.settings.id);
    return id === undefined || id === null ? "" : String(id);
  }

  /** The record's change time as it holds it: the first of the updatedAt fields that is set. */
  private rawTime(native: Values): unknown {
    const at = this.ctx.settings.updatedAt;
    for (const f of typeof at === "string" ? [at] : at) {
      const v = select(native, f);
      if (v !== undefined && v !== null && v !== "") return v;
    }
    return undefined;
  }

  updatedAtOf(native: Values): string {
    return parseTime(this.rawTime(native)) ?? this.#untimed.get(native) ?? EPOCH;
  }

  async toCanonical(native: Values): Promise<CanonicalInputByEntity[E]> {
    const { settings, read } = this.ctx;
    const system = this.client.name;
    const id = this.idOf(native);
    if (id === "") {
      throw new SyncError("data", `${this.entity} record without an id (its ${settings.id} field is empty)`, {
        system,
        field: settings.id,
      });
    }
    const raw = this.rawTime(native);
    const updatedAt = parseTime(raw);
    if (updatedAt === null) {
      const field =
        typeof settings.updatedAt === "string" ? settings.updatedAt : settings.updatedAt.join(", ");
      throw new SyncError(
        "data",
        `${this.entity} ${id}: ${field} holds no time (${JSON.stringify(raw) ?? "missing"})`,
        {
          system,
          field,
        },
      );
    }
    let mapped: Values;
    try {
      mapped = await applyRows(read, native);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new SyncError("data", `${this.entity} ${id}: ${message}`, {
        system,
        ...(e instanceof SyncError && e.details.field !== undefined ? { field: e.details.field } : {}),
      });
    }
    const canonical: Values = {
      ...mapped,
      key: naturalKey(this.entity, mapped),
      source: system,
      sourceId: id,
      updatedAt,
    };
    if (canonical.key === undefined) delete canonical.key;
    return canonical as CanonicalInputByEntity[E];
  }
}
