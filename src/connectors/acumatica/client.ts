/**
 * The contract-based REST client (over the shared HTTP client): the cookie session, paged reads with
 * `$filter`/`$expand`/`$select`/`$top`/`$skip`, upserts (`PUT /<Entity>`) and actions.
 *
 * Session: `POST /entity/auth/login` with name, password, company (tenant) and branch answers 204 and sets
 * the `.ASPXAUTH` and `ASP.NET_SessionId` cookies, sent on every call. A 401 (the session expired) logs in
 * again once and repeats the call (the shared client's refresh). `close()` logs out: Acumatica counts live
 * API sessions against the license. The password is in the login body only, and redacted from every error.
 */
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import type { AcumaticaConfig } from "./config.ts";

/** A record as the contract-based API writes it: fields wrapped as {"value": ...}. */
export type AcuRow = Record<string, unknown>;

/** A field's value (`row.Field.value`), or undefined. */
export const val = (row: AcuRow | undefined, field: string): unknown =>
  (row?.[field] as { value?: unknown } | undefined)?.value;
export const str = (row: AcuRow | undefined, field: string): string | undefined => {
  const v = val(row, field);
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
};
export const wrap = (value: unknown) => ({ value });

/** A string literal of `$filter`. */
export const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export interface Query {
  filter?: string;
  expand?: readonly string[];
  select?: readonly string[];
  signal?: AbortSignal;
}

export class AcumaticaClient {
  readonly http: HttpClient;
  readonly root: string;
  writes = 0;
  logins = 0;
  private cookie: string | null = null;
  private pending: Promise<string> | null = null;

  constructor(
    readonly name: string,
    readonly config: AcumaticaConfig,
  ) {
    this.root = `/entity/${config.endpoint}/${config.endpointVersion}`;
    this.http = createHttpClient({
      system: name,
      vendor: "Acumatica",
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      auth: {
        headers: async (signal) => ({ cookie: await this.session(signal) }),
        refresh: () => {
          this.cookie = null;
        },
      },
      redact: [config.password],
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  private session(signal?: AbortSignal): Promise<string> {
    if (this.cookie) return Promise.resolve(this.cookie);
    this.pending ??= this.login(signal).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async login(signal?: AbortSignal): Promise<string> {
    const { username, password, tenant, branch } = this.config;
    const res = await this.http.send("POST", "/entity/auth/login", {
      body: {
        name: username,
        password,
        ...(tenant ? { company: tenant } : {}),
        ...(branch ? { branch } : {}),
      },
      headers: { "content-type": "application/json" },
      auth: false,
      retrySafe: true,
      what: "login",
      accept: (s) => (s >= 200 && s < 300) || s === 401 || s === 500,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 401 || res.status === 500) {
      throw new SyncError(
        "config",
        `${this.name}: Acumatica refused the login of user ${JSON.stringify(username)}${tenant ? ` on tenant ${JSON.stringify(tenant)}` : ""} (HTTP ${res.status}: ${errorText(res.text())})`,
        { system: this.name, status: res.status, field: "password" },
      );
    }
    const jar: string[] = [];
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      if (pair?.includes("=")) jar.push(pair.trim());
    }
    if (!jar.some((c) => c.startsWith(".ASPXAUTH="))) {
      throw new SyncError("retryable", `${this.name}: Acumatica's login answered no session cookie`, {
        system: this.name,
      });
    }
    this.logins++;
    this.cookie = jar.join("; ");
    return this.cookie;
  }

  async logout(): Promise<void> {
    if (!this.cookie) return;
    await this.http
      .send("POST", "/entity/auth/logout", { what: "logout", accept: () => true })
      .catch(() => undefined);
    this.cookie = null;
  }

  private url(entity: string, q: Query, extra: Record<string, string> = {}): string {
    const params = new URLSearchParams();
    if (q.filter) params.set("$filter", q.filter);
    if (q.expand && q.expand.length > 0) params.set("$expand", q.expand.join(","));
    if (q.select) params.set("$select", q.select.join(","));
    for (const [k, v] of Object.entries(extra)) params.set(k, v);
    return `${this.root}/${entity}${params.size > 0 ? `?${params.toString()}` : ""}`;
  }

  /** One page of records in the endpoint's order (its key fields), `$skip` records in. */
  async page(entity: string, q: Query, top: number, skip: number): Promise<AcuRow[]> {
    const rows = await this.http.request<unknown>(
      "GET",
      this.url(entity, q, { $top: String(top), $skip: String(skip) }),
      undefined,
      undefined,
      { what: `${entity} list`, key: `GET ${entity}`, ...(q.signal ? { signal: q.signal } : {}) },
    );
    if (!Array.isArray(rows)) {
      throw new SyncError(
        "retryable",
        `${this.name}: Acumatica answered a ${entity} list that is not an array`,
        {
          system: this.name,
        },
      );
    }
    return rows as AcuRow[];
  }

  /** Every record matching the query, page by page ($top/$skip) until a short page. */
  async *pages(entity: string, q: Query, pageSize = this.config.pageSize): AsyncGenerator<AcuRow[]> {
    for (let skip = 0; ; skip += pageSize) {
      const rows = await this.page(entity, q, pageSize, skip);
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
    }
  }

  /** The first record matching the filter, or null. */
  async first(entity: string, q: Query): Promise<AcuRow | null> {
    const [row] = await this.page(entity, q, 1, 0);
    return row ?? null;
  }

  /** `PUT /<Entity>`: creates the record or updates the one its id or key fields name; answers it. */
  async put(entity: string, body: AcuRow, q: Query = {}): Promise<AcuRow> {
    const row = await this.http.request<AcuRow>("PUT", this.url(entity, q), body, undefined, {
      what: `${entity} put`,
      key: `PUT ${entity}`,
      headers: { "content-type": "application/json" },
      ...(q.signal ? { signal: q.signal } : {}),
    });
    this.writes++;
    return row;
  }

  /** An inquiry: `PUT /<Inquiry>` with its parameters answers its results and saves nothing (not a write). */
  async inquire(
    entity: string,
    params: AcuRow,
    expand: readonly string[],
    signal?: AbortSignal,
  ): Promise<AcuRow> {
    return this.http.request<AcuRow>("PUT", this.url(entity, { expand }), params, undefined, {
      what: `${entity} inquiry`,
      key: `PUT ${entity}`,
      headers: { "content-type": "application/json" },
      retrySafe: true,
      ...(signal ? { signal } : {}),
    });
  }

  /** `POST /<Entity>/<Action>` on one record (by id). */
  async action(entity: string, action: string, id: string, signal?: AbortSignal): Promise<void> {
    await this.http.send("POST", `${this.root}/${entity}/${action}`, {
      body: { entity: { id } },
      headers: { "content-type": "application/json" },
      what: `${entity} ${action}`,
      key: `POST ${entity}/${action}`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
  }
}

/** Acumatica's error text: HttpError's message/exceptionMessage, or an entity's `error`. */
export function errorText(body: string): string {
  try {
    const e = JSON.parse(body) as { message?: string; exceptionMessage?: string; error?: string };
    return e.exceptionMessage ?? e.error ?? e.message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
