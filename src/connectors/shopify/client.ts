/**
 * Every Admin API call goes through `ShopifyClient.request`. It wraps the official
 * @shopify/admin-api-client, paces itself on Shopify's calculated-cost bucket so the bucket never runs dry
 * (the goal is zero Throttled answers), retries Throttled answers, and turns every failure into a typed
 * SyncError.
 */

import { readFileSync } from "node:fs";
import { createAdminApiClient } from "@shopify/admin-api-client";
import { parse } from "graphql";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { RateLimitState } from "../../ports/connector.ts";
import { createHttpClient, type HttpClient, type HttpResponse, type HttpStats } from "../http/client.ts";
import { DeprecationLog } from "../http/deprecations.ts";
import { NO_RETRY } from "../http/retry.ts";
import type { ShopifyConfig } from "./config.ts";
import { type CostPlan, planCost, requestedQueryCost } from "./cost.ts";
import { shopifySchema } from "./schema.ts";

export interface Timer {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTimer: Timer = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const ThrottleStatus = z.object({
  maximumAvailable: z.number(),
  currentlyAvailable: z.number(),
  restoreRate: z.number(),
});

const Envelope = z.object({
  data: z.unknown().optional(),
  errors: z
    .union([
      z.string(),
      z.record(z.string(), z.unknown()),
      z.array(
        z.object({
          message: z.string(),
          extensions: z.object({ code: z.string().optional() }).passthrough().optional(),
          path: z.array(z.union([z.string(), z.number()])).optional(),
        }),
      ),
    ])
    .optional(),
  extensions: z
    .object({
      cost: z
        .object({
          requestedQueryCost: z.number(),
          actualQueryCost: z.number().nullable(),
          throttleStatus: ThrottleStatus,
        })
        .optional(),
    })
    .passthrough()
    .optional(),
});

let shipped: Map<string, CostPlan> | null = null;

/** The plans shipped for the connector's own documents (cost-plans.ts); empty when the file is missing. */
function shippedPlans(): Map<string, CostPlan> {
  if (shipped === null) {
    try {
      const raw: unknown = JSON.parse(readFileSync(new URL("./cost-plans.json", import.meta.url), "utf8"));
      shipped = new Map(Object.entries(raw as Record<string, CostPlan>));
    } catch {
      shipped = new Map();
    }
  }
  return shipped;
}

/** Whole-call timeout: the connection has no setting for it (Odoo, Tryton and Vendure default to the same). */
export const SHOPIFY_TIMEOUT_MS = 30_000;

/** How long to wait after a 429 that names no Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * An answer as the official client's `fetch` and `request` below read it: status, ok, headers, the body as
 * JSON or text. Built from the HTTP client's answer rather than as a WHATWG Response, whose body stream and
 * header copies cost more CPU per call than the rest of the call's handling (BENCHMARKS.md, "Round three").
 * The official client's `fetch` (which is all this connector calls) reads `ok`, `status` and `headers.get`
 * of what customFetchApi returns, and hands it back unchanged.
 */
interface Answer {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

function answerOf(res: HttpResponse): Answer {
  return {
    ok: res.status >= 200 && res.status < 300,
    status: res.status,
    statusText: "",
    headers: res.headers,
    // As Response.json(): the body decoded as UTF-8, then parsed; a syntax error rejects.
    json: async () => JSON.parse(res.text()),
    text: async () => res.text(),
  };
}

export interface ClientOptions {
  timer?: Timer;
  fetchApi?: typeof fetch;
}

export class ShopifyClient {
  private readonly api: ReturnType<typeof createAdminApiClient>;
  private readonly timer: Timer;
  private bucket: (RateLimitState & { at: number }) | null = null;
  private readonly costCache = new Map<string, ReturnType<typeof parse>>();
  /** requestedQueryCost Shopify last reported per document, the estimate when the schema is unavailable. */
  private readonly reportedCost = new Map<string, number>();
  private noSchema = false;
  private readonly http: HttpClient;
  /** Throttled answers: HTTP 429 and GraphQL THROTTLED errors. */
  private throttledInBody = 0;
  /** Deprecation notices per operation (X-Shopify-API-Deprecated-Reason, a version served instead of ours). */
  readonly deprecations = new DeprecationLog();
  /** The version Shopify last said it served (X-Shopify-API-Version); null before the first answer. */
  servedVersion: string | null = null;

  constructor(
    private readonly system: string,
    private readonly config: ShopifyConfig,
    opts: ClientOptions = {},
  ) {
    this.timer = opts.timer ?? realTimer;
    const endpoint = config.endpoint;
    this.http = createHttpClient({
      system,
      vendor: "Shopify",
      baseUrl: endpoint ?? `https://${config.shop}`,
      timeoutMs: SHOPIFY_TIMEOUT_MS,
      // Throttled answers are paced and retried below (the cost bucket); other failures go to the engine.
      retry: NO_RETRY,
      redact: [config.accessToken],
      ...(opts.fetchApi ? { fetch: opts.fetchApi } : {}),
    });
    const http = this.http;
    const baseFetch = async (url: string, init?: RequestInit): Promise<Response> =>
      answerOf(await http.exchange(url, init)) as unknown as Response;
    this.api = createAdminApiClient({
      storeDomain: config.shop,
      apiVersion: config.apiVersion,
      accessToken: config.accessToken,
      userAgentPrefix: "Passerelle",
      retries: 0,
      // The official client always builds https://<shop>/admin/api/...; an emulator or proxy is reached
      // by rewriting that URL here rather than by forking the client.
      customFetchApi: endpoint === undefined ? baseFetch : (_url, init) => baseFetch(endpoint, init),
      // An unknown or retired version is reported by the API itself when called; no console noise here.
      logger: () => {},
    });
  }

  /** Requests sent (each try counts). */
  get calls(): number {
    return this.http.stats().calls;
  }

  get throttled(): number {
    return this.http.stats().throttled + this.throttledInBody;
  }

  /** Calls, retries and latency per operation (bounded: see connectors/http/latency.ts). */
  stats(): HttpStats {
    return { ...this.http.stats(), throttled: this.throttled };
  }

  rateLimit(): RateLimitState | undefined {
    if (this.bucket === null) return undefined;
    const { at: _at, ...state } = this.bucket;
    return { ...state, currentlyAvailable: this.estimatedAvailable() };
  }

  /**
   * Requested cost of a document, as Shopify computes it: from the plan shipped for the connector's own
   * documents, else (another document) from the schema, which is then loaded once.
   */
  estimateCost(query: string, variables: Record<string, unknown> = {}): number {
    const plan = shippedPlans().get(query);
    if (plan !== undefined) return planCost(plan, variables);
    if (!this.noSchema) {
      try {
        let doc = this.costCache.get(query);
        if (doc === undefined) {
          doc = parse(query);
          this.costCache.set(query, doc);
        }
        return requestedQueryCost(shopifySchema(), doc, variables);
      } catch {
        // Without the schema file (an install that could not fetch it), pace on what Shopify reported.
        this.noSchema = true;
      }
    }
    return this.reportedCost.get(query) ?? 0;
  }

  private estimatedAvailable(): number {
    const b = this.bucket;
    if (b === null) return Number.POSITIVE_INFINITY;
    const restored = ((this.timer.now() - b.at) / 1000) * b.restoreRatePerSecond;
    return Math.min(b.maximumAvailable, b.currentlyAvailable + restored);
  }

  private async pace(cost: number): Promise<void> {
    const b = this.bucket;
    if (b === null) return;
    const deficit = cost - this.estimatedAvailable();
    if (deficit <= 0 || b.restoreRatePerSecond <= 0) return;
    await this.timer.sleep(Math.ceil((deficit / b.restoreRatePerSecond) * 1000));
  }

  /**
   * Sends one operation and returns its `data`. Throws SyncError: config (401/403), retryable (network,
   * 5xx), rate_limited (still throttled after the retries), permanent (GraphQL errors).
   */
  async request<T>(
    query: string,
    variables: Record<string, unknown>,
    shape: z.ZodType<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const cost = this.estimateCost(query, variables);
    for (let attempt = 0; ; attempt++) {
      await this.pace(cost);
      // A signal of this call's own, by which the shared fetch keeps its classified error for us (the
      // official client wraps whatever its fetch throws in a plain Error).
      const callSignal = signal ? AbortSignal.any([signal]) : new AbortController().signal;
      let res: Answer;
      try {
        res = (await this.api.fetch(query, { variables, signal: callSignal })) as unknown as Answer;
      } catch (err) {
        throw (
          this.http.errorFor(callSignal) ??
          new SyncError(
            "retryable",
            this.http.redact(`Shopify is unreachable: ${err instanceof Error ? err.message : String(err)}`),
            { system: this.system, cause: err },
          )
        );
      }
      const call = { method: "POST", path: "/graphql.json", what: operationName(query) };
      this.noteVersion(call.what, res.headers);
      if (res.status === 401 || res.status === 403) {
        throw new SyncError(
          "config",
          `Shopify refused the access token (HTTP ${res.status}); check accessToken and the app's scopes`,
          { status: res.status, system: this.system },
        );
      }
      if (res.status === 429 || res.status >= 500 || res.status === 408) {
        const err = this.http.statusError(call, {
          status: res.status,
          headers: res.headers,
          text: () => "",
        });
        if (res.status === 429 && err.details.retryAfterMs === undefined) {
          throw new SyncError(err.kind, err.message, {
            ...err.details,
            retryAfterMs: DEFAULT_RETRY_AFTER_MS,
          });
        }
        throw err;
      }
      let body: z.infer<typeof Envelope>;
      try {
        body = Envelope.parse(await res.json());
      } catch (err) {
        throw new SyncError(
          res.ok ? "retryable" : "permanent",
          `Shopify answered HTTP ${res.status} with an unreadable body`,
          {
            status: res.status,
            system: this.system,
            cause: err,
          },
        );
      }
      const reported = body.extensions?.cost?.requestedQueryCost;
      if (reported !== undefined) this.reportedCost.set(query, reported);
      const status = body.extensions?.cost?.throttleStatus;
      if (status) {
        this.bucket = {
          maximumAvailable: status.maximumAvailable,
          currentlyAvailable: status.currentlyAvailable,
          restoreRatePerSecond: status.restoreRate,
          at: this.timer.now(),
        };
      }
      const errors = body.errors;
      if (Array.isArray(errors) && errors.some((e) => e.extensions?.code === "THROTTLED")) {
        this.throttledInBody += 1;
        const waitMs = status
          ? Math.ceil((Math.max(1, cost - status.currentlyAvailable) / status.restoreRate) * 1000)
          : 1000;
        if (attempt >= this.config.maxThrottleRetries) {
          throw new SyncError("rate_limited", `Shopify throttled the call ${attempt + 1} times`, {
            system: this.system,
            retryAfterMs: waitMs,
          });
        }
        await this.timer.sleep(waitMs);
        continue;
      }
      if (!res.ok || errors !== undefined) {
        throw new SyncError(
          "permanent",
          `Shopify rejected the request: ${describe(errors) || `HTTP ${res.status}`}`,
          {
            status: res.status,
            system: this.system,
            vendorBody: errors,
          },
        );
      }
      const parsed = shape.safeParse(body.data);
      if (!parsed.success) {
        throw new SyncError(
          "permanent",
          `Shopify's answer has an unexpected shape: ${parsed.error.message}`,
          {
            system: this.system,
            vendorBody: body.data,
          },
        );
      }
      return parsed.data;
    }
  }

  /**
   * Counts the answer's deprecation notice against the operation, and notes when Shopify served another
   * version than the one asked for (it falls forward to the oldest supported version when ours is retired).
   */
  private noteVersion(operation: string, headers: Headers): void {
    this.deprecations.noteHeaders(operation, headers);
    const served = headers.get("x-shopify-api-version");
    if (served === null) return;
    this.servedVersion = served;
    if (served !== this.config.apiVersion && this.config.apiVersion !== "unstable") {
      this.deprecations.note(
        operation,
        `asked for API version ${this.config.apiVersion}, Shopify answered with ${served} (the version asked for is no longer supported)`,
        null,
      );
    }
  }
}

/** `query Products(...)` → "Products"; the first line otherwise. */
function operationName(query: string): string {
  const m = /^\s*(query|mutation|subscription)\s+(\w+)/.exec(query);
  return m?.[2] ?? query.trim().split("\n")[0]?.slice(0, 60) ?? "";
}

function describe(errors: z.infer<typeof Envelope>["errors"]): string {
  if (errors === undefined) return "";
  if (typeof errors === "string") return errors;
  if (Array.isArray(errors)) return errors.map((e) => e.message).join("; ");
  return JSON.stringify(errors);
}

/** A mutation's userErrors, as Shopify reports them. */
export const UserErrors = z.array(
  z.object({ field: z.array(z.string()).nullable(), message: z.string(), code: z.string().nullish() }),
);
export type UserErrors = z.infer<typeof UserErrors>;
