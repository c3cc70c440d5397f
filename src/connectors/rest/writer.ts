/**
 * Writing an entity over REST: the canonical record mapped to the request body (`write.fields`), created
 * with the create call or, once linked, read first and updated only when the body would change something
 * the record holds (writing the same record again makes no call that changes data). A record the rules
 * cannot map, or the API refuses, fails alone with the reason; its siblings are written.
 */
import { asSyncError, SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import type { PlannedPage, WriteContext, WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import { applyRows, type Values } from "../rows.ts";
import { fill, type RestClient, select } from "./client.ts";
import { RestStream } from "./stream.ts";

const isNumeric = (v: unknown) =>
  (typeof v === "number" && Number.isFinite(v)) || (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v));

/**
 * Whether `have` (the record as the API holds it) already says what `want` (the body) would write: every
 * field of the body equal, numbers by value ("10.00" = 10), nested objects field by field, lists element
 * by element.
 */
export function holds(have: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  if (want === null) return have === null || have === undefined || have === "";
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => holds(have[i], w));
  }
  if (typeof want === "object") {
    if (have === null || typeof have !== "object" || Array.isArray(have)) return false;
    return Object.entries(want as Values).every(([k, w]) => holds((have as Values)[k], w));
  }
  if (have === want) return true;
  if (isNumeric(have) && isNumeric(want)) return Number(have) === Number(want);
  return typeof have !== "object" && have !== undefined && have !== null && String(have) === String(want);
}

export class RestWriter<E extends EntityName> implements Writer<E> {
  readonly #stream: RestStream<E>;

  constructor(
    readonly entity: E,
    private readonly client: RestClient,
  ) {
    this.#stream = new RestStream(entity, client);
  }

  private get ctx() {
    const ctx = this.client.entity(this.entity);
    if (!ctx.settings.write || !ctx.write) {
      throw new SyncError(
        "config",
        `${this.client.name}: ${this.entity} is read only here; give entities.${this.entity}.write (create, update, fields) to write it`,
        { system: this.client.name },
      );
    }
    return { ...ctx, write: ctx.write, settings: { ...ctx.settings, write: ctx.settings.write } };
  }

  async upsert(items: WriteItem<E>[], ctx: WriteContext): Promise<WriteResult[]> {
    this.ctx; // a read-only entity fails the whole call, before anything is attempted
    // The connection's governor bounds the calls in flight.
    return Promise.all(items.map((item) => this.one(item, ctx.signal)));
  }

  private async one(item: WriteItem<E>, signal?: AbortSignal): Promise<WriteResult> {
    const { settings, write } = this.ctx;
    const w = settings.write;
    let body: Values;
    try {
      body = await applyRows(write, item.record as unknown as Values);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return {
        key: item.key,
        ok: false,
        error: new SyncError("data", `${this.entity} ${item.key}: ${message}`, {
          system: this.client.name,
          ...(e instanceof SyncError && e.details.field !== undefined ? { field: e.details.field } : {}),
        }),
      };
    }
    const payload = w.wrap ? { [w.wrap]: body } : body;
    try {
      if (item.targetId) {
        const current = await this.#stream.get(item.targetId);
        if (current !== null) {
          if (holds(current, body))
            return { key: item.key, ok: true, targetId: item.targetId, action: "unchanged" };
          await this.client.writeJson(w.update.method, fill(w.update.path, item.targetId), payload, signal);
          return { key: item.key, ok: true, targetId: item.targetId, action: "updated" };
        }
        // Deleted in the system since it was linked: written anew.
      }
      const answer = await this.client.writeJson(w.create.method, w.create.path, payload, signal);
      const id = select(select(answer, w.response), settings.id);
      if (id === undefined || id === null || id === "") {
        throw new SyncError(
          "permanent",
          `${this.client.name}: the answer to ${w.create.method} ${w.create.path} has no ${settings.id}${w.response ? ` under ${w.response}` : ""} (entities.${this.entity}.write.response)`,
          { system: this.client.name },
        );
      }
      return {
        key: item.key,
        ok: true,
        targetId: String(id),
        action: "created",
        ...(item.targetId ? { note: `${item.targetId} was gone; created again` } : {}),
      };
    } catch (e) {
      return { key: item.key, ok: false, error: asSyncError(e, this.client.name) };
    }
  }

  async findByExternalRef(externalRef: string): Promise<string | null> {
    const { settings } = this.ctx;
    const by = settings.write.findBy;
    if (!by) return null;
    const path = this.client.url(by.path ?? settings.list.path, {
      ...settings.list.params,
      [by.param]: externalRef,
    });
    const answer = await this.client.getJson(path);
    const rows = select(answer?.body, settings.list.records);
    if (!Array.isArray(rows)) return null;
    const wanted = externalRef.toLowerCase();
    const hit = rows.find((r) => {
      const v = select(r, by.field);
      return v !== undefined && v !== null && String(v).toLowerCase() === wanted;
    });
    const id = hit === undefined ? undefined : select(hit, settings.id);
    return id === undefined || id === null ? null : String(id);
  }

  estimateCalls(page: PlannedPage<E>): number {
    // A create is one call; an update reads the record first; an interrupted create is looked up first.
    return page.create.length + 2 * page.update.length + page.lookups.length;
  }
}
