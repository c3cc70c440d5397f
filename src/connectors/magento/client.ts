/**
 * The Magento admin REST client (over the shared HTTP client): the integration token as a bearer, routes
 * `/rest/<store code>/V1/...`, searchCriteria query strings, a 404 read as "not there", and a count of
 * calls that change data (for the contract's re-apply check).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import type { MagentoConfig } from "./config.ts";

export interface Filter {
  field: string;
  value: string | number;
  conditionType?: "eq" | "neq" | "gt" | "gteq" | "lt" | "lteq" | "in" | "like";
}

/** A searchCriteria query string: `groups` are ANDed, the filters of one group ORed. */
export function searchCriteria(o: {
  groups?: Filter[][];
  sort?: { field: string; direction: "ASC" | "DESC" }[];
  pageSize?: number;
  currentPage?: number;
}): string {
  const s = new URLSearchParams();
  (o.groups ?? []).forEach((group, g) => {
    group.forEach((f, i) => {
      const at = `searchCriteria[filterGroups][${g}][filters][${i}]`;
      s.set(`${at}[field]`, f.field);
      s.set(`${at}[value]`, String(f.value));
      s.set(`${at}[conditionType]`, f.conditionType ?? "eq");
    });
  });
  (o.sort ?? []).forEach((x, i) => {
    s.set(`searchCriteria[sortOrders][${i}][field]`, x.field);
    s.set(`searchCriteria[sortOrders][${i}][direction]`, x.direction);
  });
  if (o.pageSize !== undefined) s.set("searchCriteria[pageSize]", String(o.pageSize));
  if (o.currentPage !== undefined) s.set("searchCriteria[currentPage]", String(o.currentPage));
  return s.toString();
}

/** Magento's timestamps are UTC `YYYY-MM-DD HH:MM:SS`. */
export const toIso = (t: string): string =>
  `${t.replace(" ", "T")}${/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? "" : "Z"}`;
export const toMagentoTime = (iso: string): string =>
  new Date(iso).toISOString().slice(0, 19).replace("T", " ");

export class MagentoClient {
  readonly http: HttpClient;
  /** Calls that change data. */
  writes = 0;

  constructor(
    readonly name: string,
    readonly config: MagentoConfig,
    fetchApi?: typeof fetch,
  ) {
    this.http = createHttpClient({
      system: name,
      vendor: "Magento",
      baseUrl: config.url.replace(/\/+$/, ""),
      timeoutMs: config.timeoutMs,
      auth: { headers: () => ({ authorization: `Bearer ${config.accessToken}` }) },
      redact: [config.accessToken],
      ...(fetchApi ? { fetch: fetchApi } : {}),
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  /** `store` is a store code, `all` the global scope. */
  path(store: string, v1: string): string {
    return `/rest/${store}/V1${v1}`;
  }

  get<T>(store: string, v1: string, schema: z.ZodType<T>, what?: string): Promise<T> {
    return this.http.request("GET", this.path(store, v1), undefined, schema, what ? { what } : {});
  }

  /** A read sent as POST (Magento's `*-information` price reads). */
  read<T>(store: string, v1: string, body: unknown, schema: z.ZodType<T>, what?: string): Promise<T> {
    return this.http.request("POST", this.path(store, v1), body, schema, {
      retrySafe: true,
      ...(what ? { what } : {}),
    });
  }

  /** A GET whose 404 means "not there". */
  async find<T>(store: string, v1: string, schema: z.ZodType<T>, what?: string): Promise<T | null> {
    const res = await this.http.send("GET", this.path(store, v1), {
      headers: { accept: "application/json" },
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      ...(what ? { what } : {}),
    });
    if (res.status === 404) return null;
    return schema.parse(JSON.parse(res.text()));
  }

  /**
   * Sends `bodies` as one async bulk request (`/rest/<store>/async/bulk/V1/...`) and waits for its
   * operations (`GET /V1/bulk/{uuid}/status`, polled with a growing pause). Returns, per body, null when its
   * operation completed or what Magento said when it failed.
   */
  async bulk(
    store: string,
    v1: string,
    bodies: unknown[],
    what: string,
    sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
  ): Promise<(string | null)[]> {
    this.writes++;
    const accepted = await this.http.request(
      "POST",
      `/rest/${store}/async/bulk/V1${v1}`,
      bodies,
      z.object({ bulk_uuid: z.string(), errors: z.boolean().nullish() }),
      { what: `${what} (async bulk)` },
    );
    const started = Date.now();
    let pause = 200;
    for (;;) {
      const status = await this.get(
        store,
        `/bulk/${encodeURIComponent(accepted.bulk_uuid)}/status`,
        z.object({
          operations_list: z.array(
            z.object({
              id: z.number().int(),
              status: z.number().int(),
              result_message: z.string().nullish(),
            }),
          ),
        }),
        "bulk status",
      );
      const ops = status.operations_list;
      // 1 complete, 2 failed (retriable), 3 failed, 4 open, 5 rejected.
      if (ops.length === bodies.length && ops.every((o) => o.status !== 4)) {
        return bodies.map((_b, i) => {
          const o = ops.find((x) => x.id === i);
          if (o?.status === 1) return null;
          const how = o?.status === 2 ? "failed (retriable)" : o?.status === 5 ? "rejected" : "failed";
          return `${how}: ${o?.result_message ?? ""}`;
        });
      }
      if (Date.now() - started > this.config.bulkTimeoutMs) {
        throw new SyncError(
          "retryable",
          `${this.name}: Magento bulk ${accepted.bulk_uuid} (${what}) still has open operations after ${this.config.bulkTimeoutMs} ms: is the async.operations.all consumer running?`,
          { system: this.name },
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 5_000);
    }
  }

  write<T>(
    method: "POST" | "PUT" | "DELETE",
    store: string,
    v1: string,
    body: unknown,
    schema: z.ZodType<T>,
    what?: string,
  ) {
    this.writes++;
    return this.http.request(method, this.path(store, v1), body, schema, what ? { what } : {});
  }
}

/** Magento's error body with its `%1` / `%name` placeholders filled from `parameters`. */
export function magentoMessage(body: string | undefined): string | null {
  if (!body) return null;
  try {
    const j = JSON.parse(body) as { message?: unknown; parameters?: unknown; errors?: unknown };
    if (typeof j.message !== "string") return null;
    // Parameters come as a list of values (`%1`), an object of names, or (as the OpenAPI document has it)
    // a list of objects of names.
    let params = j.parameters;
    if (Array.isArray(params) && params.every((p) => p !== null && typeof p === "object"))
      params = Object.assign({}, ...params);
    let i = 0;
    const filled = j.message.replace(/%(\d+|[A-Za-z_]+)/g, (m, name: string) => {
      if (Array.isArray(params)) {
        const v = /^\d+$/.test(name) ? params[Number(name) - 1] : params[i++];
        return v === undefined ? m : String(v);
      }
      if (params && typeof params === "object" && name in params)
        return String((params as Record<string, unknown>)[name]);
      return m;
    });
    const details = Array.isArray(j.errors)
      ? j.errors.map((e) => magentoMessage(JSON.stringify(e))).filter((x): x is string => x !== null)
      : [];
    return details.length > 0 ? `${filled} (${details.join("; ")})` : filled;
  } catch {
    return null;
  }
}

/** A SyncError whose message also says what Magento said (its error body's message). */
export function explained(err: unknown): unknown {
  if (!(err instanceof SyncError)) return err;
  const body = err.details.vendorBody;
  const said = magentoMessage(
    typeof body === "string" ? body : body === undefined ? undefined : JSON.stringify(body),
  );
  if (!said) return err;
  return new SyncError(err.kind, `${err.message}: ${said}`, err.details);
}
