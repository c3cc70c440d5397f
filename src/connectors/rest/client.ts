/**
 * What a REST connection's streams and writers share: the shared HTTP client with the configured
 * credentials (an OAuth2 token fetched and kept until it expires, fetched again once on a 401), the pace
 * (`rateLimit`: calls in flight and per second), every secret redacted, and per entity its compiled
 * mappings. Paths are below baseUrl; `{id}` in a path is the record's id, escaped.
 */
import pLimit from "p-limit";
import pThrottle from "p-throttle";
import { SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import { createHttpClient, type HttpClient, type HttpResponse } from "../http/client.ts";
import type { AuthHook } from "../http/types.ts";
import { compileRows, type RowMapping, type Values } from "../rows.ts";
import type { Auth, EntitySettings, RestConfig } from "./config.ts";

export interface EntityContext {
  entity: EntityName;
  settings: EntitySettings;
  /** Record → canonical. */
  read: RowMapping;
  /** Canonical → request body; null when the entity is read only. */
  write: RowMapping | null;
}

export interface RestClient {
  name: string;
  config: RestConfig;
  http: HttpClient;
  /** Calls that change data (POST, PUT, PATCH). */
  writes: number;
  /** Tokens fetched from the OAuth2 token endpoint. */
  tokens: number;
  entity(entity: EntityName): EntityContext;
  /** A path (or an absolute URL the API gave, such as a Link header's) with query parameters added. */
  url(path: string, params?: Record<string, string | number | boolean | undefined>): string;
  /** GET of JSON; `missing` statuses (404) answer null. */
  getJson(path: string, o?: { signal?: AbortSignal; missing?: boolean }): Promise<JsonAnswer | null>;
  /** A write of JSON: POST, PUT or PATCH. */
  writeJson(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<unknown>;
}

export interface JsonAnswer {
  body: unknown;
  headers: Headers;
}

/** A dotted path into a JSON value; "" is the value itself. */
export function select(value: unknown, selector: string): unknown {
  if (selector === "") return value;
  let v = value;
  for (const part of selector.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Values)[part];
  }
  return v;
}

/** `/customers/{id}` with the id in place. */
export const fill = (path: string, id: string): string => path.replaceAll("{id}", encodeURIComponent(id));

/** The configured secrets, to keep out of every message. */
function secretsOf(auth: Auth): string[] {
  switch (auth.type) {
    case "bearer":
      return [auth.token];
    case "basic":
      return [
        auth.password,
        Buffer.from(`${auth.username}:${auth.password}`).toString("base64"),
        encodeURIComponent(auth.password),
      ];
    case "apiKey":
      return [auth.value, encodeURIComponent(auth.value)];
    case "oauth2":
      return [
        auth.clientSecret,
        encodeURIComponent(auth.clientSecret),
        Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString(
          "base64",
        ),
      ];
    default:
      return [];
  }
}

/** Earlier than the token's stated expiry, so a call started just before it does not carry a dead token. */
const EXPIRY_MARGIN_MS = 30_000;

function oauth2Hook(
  name: string,
  auth: Extract<Auth, { type: "oauth2" }>,
  config: RestConfig,
  counter: { tokens: number },
  fetchApi: typeof fetch | undefined,
  now: () => number,
): AuthHook {
  const token = createHttpClient({
    system: name,
    vendor: "OAuth2 token endpoint",
    baseUrl: auth.tokenUrl,
    timeoutMs: config.timeoutMs,
    redact: secretsOf(auth),
    ...(fetchApi ? { fetch: fetchApi } : {}),
  });
  let current: { value: string; until: number } | null = null;
  let pending: Promise<string> | null = null;
  const fetchToken = async (signal?: AbortSignal): Promise<string> => {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    };
    if (auth.clientAuth === "basic") {
      const pair = `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
    } else {
      form.set("client_id", auth.clientId);
      form.set("client_secret", auth.clientSecret);
    }
    if (auth.scope) form.set("scope", auth.scope);
    counter.tokens++;
    const res = await token.send("POST", auth.tokenUrl, {
      body: form.toString(),
      headers,
      what: "OAuth2 token",
      ...(signal ? { signal } : {}),
      // Refused client credentials come back as 400 (invalid_client) as often as 401.
      accept: (s) => (s >= 200 && s < 300) || s === 400 || s === 401 || s === 403,
    });
    if (res.status >= 400) {
      let reason = "";
      try {
        const b = JSON.parse(res.text()) as { error?: unknown };
        if (typeof b.error === "string") reason = ` (${b.error})`;
      } catch {
        // No JSON: the status says enough.
      }
      throw new SyncError(
        "config",
        token.redact(
          `${name}: the OAuth2 token endpoint ${auth.tokenUrl} refused client ${auth.clientId} with HTTP ${res.status}${reason}; check clientId and clientSecret`,
        ),
        { system: name, status: res.status },
      );
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(res.text()) as typeof body;
    } catch {
      throw new SyncError("retryable", `${name}: the OAuth2 token endpoint answered something not JSON`, {
        system: name,
      });
    }
    if (typeof body.access_token !== "string" || body.access_token === "") {
      throw new SyncError("permanent", `${name}: the OAuth2 token endpoint's answer has no access_token`, {
        system: name,
      });
    }
    const seconds = Number(body.expires_in);
    const until =
      Number.isFinite(seconds) && seconds > 0 ? now() + seconds * 1000 - EXPIRY_MARGIN_MS : Infinity;
    current = { value: body.access_token, until };
    return body.access_token;
  };
  return {
    async headers(signal) {
      let value: string;
      if (current && now() < current.until) value = current.value;
      else {
        current = null;
        // One token request at a time, whatever the number of calls waiting for it.
        pending ??= fetchToken(signal).finally(() => {
          pending = null;
        });
        value = await pending;
      }
      return { authorization: `Bearer ${value}` };
    },
    refresh() {
      current = null;
    },
  };
}

function authHook(
  name: string,
  config: RestConfig,
  counter: { tokens: number },
  fetchApi: typeof fetch | undefined,
  now: () => number,
): AuthHook | undefined {
  const auth = config.auth;
  switch (auth.type) {
    case "bearer":
      return { headers: () => ({ authorization: `Bearer ${auth.token}` }) };
    case "basic": {
      const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
      return { headers: () => ({ authorization: basic }) };
    }
    case "apiKey":
      return auth.header ? { headers: () => ({ [auth.header as string]: auth.value }) } : undefined;
    case "oauth2":
      return oauth2Hook(name, auth, config, counter, fetchApi, now);
    default:
      return undefined;
  }
}

/** The pace: `concurrency` calls in flight, and with `perSecond` calls spaced evenly. */
function governor(config: RestConfig): <T>(fn: () => Promise<T>) => Promise<T> {
  const inFlight = pLimit(config.rateLimit?.concurrency ?? 4);
  const perSecond = config.rateLimit?.perSecond;
  if (perSecond === undefined) return (fn) => inFlight(fn);
  const paced = pThrottle({ limit: 1, interval: 1000 / perSecond, strict: true })(<T>(fn: () => Promise<T>) =>
    fn(),
  );
  return <T>(fn: () => Promise<T>) => inFlight(() => paced(fn) as Promise<T>);
}

export function createClient(
  name: string,
  config: RestConfig,
  opts: { fetch?: typeof fetch; now?: () => number } = {},
): RestClient {
  const contexts = new Map<EntityName, EntityContext>();
  for (const [entity, settings] of Object.entries(config.entities) as [EntityName, EntitySettings][]) {
    const path = `entities.${entity}`;
    contexts.set(entity, {
      entity,
      settings,
      read: compileRows(settings.fields, `${path}.fields`),
      write: settings.write ? compileRows(settings.write.fields, `${path}.write.fields`) : null,
    });
  }
  const counter = { tokens: 0 };
  const now = opts.now ?? Date.now;
  const auth = authHook(name, config, counter, opts.fetch, now);
  const http = createHttpClient({
    system: name,
    vendor: new URL(config.baseUrl).host,
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    headers: config.headers,
    redact: secretsOf(config.auth),
    limit: governor(config),
    ...(auth ? { auth } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    now,
  });
  const apiKeyQuery = config.auth.type === "apiKey" && config.auth.query ? config.auth : null;
  const client: RestClient = {
    name,
    config,
    http,
    writes: 0,
    get tokens() {
      return counter.tokens;
    },
    entity(entity) {
      const ctx = contexts.get(entity);
      if (!ctx) {
        throw new SyncError(
          "config",
          `${name}: ${entity} is not configured (entities.${entity} in the connection's settings); configured: ${[...contexts.keys()].join(", ")}`,
          { system: name },
        );
      }
      return ctx;
    },
    url(path, params = {}) {
      const all: Record<string, string | number | boolean | undefined> = { ...params };
      if (apiKeyQuery) all[apiKeyQuery.query as string] = apiKeyQuery.value;
      const absolute = /^https?:\/\//i.test(path);
      const url = new URL(absolute ? path : `http://x${path}`);
      for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, String(v));
      return absolute ? url.href : `${url.pathname}${url.search}`;
    },
    async getJson(path, o = {}) {
      const res = await http.send("GET", client.url(path), {
        headers: { accept: "application/json" },
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.missing ? { accept: (s: number) => (s >= 200 && s < 300) || s === 404 || s === 410 } : {}),
      });
      if (res.status === 404 || res.status === 410) return null;
      return { body: parseJson(client, "GET", path, res), headers: res.headers };
    },
    async writeJson(method, path, body, signal) {
      client.writes++;
      const res = await http.send(method, client.url(path), {
        body,
        headers: { accept: "application/json" },
        ...(signal ? { signal } : {}),
      });
      if (res.bytes.length === 0) return null;
      return parseJson(client, method, path, res);
    },
  };
  return client;
}

function parseJson(client: RestClient, method: string, path: string, res: HttpResponse): unknown {
  try {
    return JSON.parse(res.text());
  } catch {
    throw new SyncError(
      "retryable",
      client.http.redact(
        `${client.name}: ${method} ${path} answered HTTP ${res.status} with something that is not JSON`,
      ),
      { system: client.name, status: res.status },
    );
  }
}
