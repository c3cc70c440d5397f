/**
 * Every Admin API call goes through `VendureClient.request`: plain `fetch` of GraphQL over HTTP (no
 * Vendure package at run time). It logs in with the native username/password strategy, sends the session
 * token as a Bearer header, logs in again once when the session has expired, and turns every failure into
 * a typed SyncError naming the system.
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { minorUnits } from "../../core/money.ts";
import { createHttpClient, type HttpClient, type HttpResponse, type HttpStats } from "../http/client.ts";
import { NO_RETRY } from "../http/retry.ts";
import type { VendureConfig } from "./config.ts";

const GraphQLError = z.object({
  message: z.string(),
  extensions: z.object({ code: z.string().optional() }).passthrough().optional(),
  path: z.array(z.union([z.string(), z.number()])).optional(),
});
const Envelope = z.object({ data: z.unknown().optional(), errors: z.array(GraphQLError).optional() });
type GraphQLError = z.infer<typeof GraphQLError>;

/** An ErrorResult member of a Vendure mutation's result union. */
export const ErrorResult = z.object({ errorCode: z.string(), message: z.string() });
export type ErrorResult = z.infer<typeof ErrorResult>;

const LOGIN = `mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password, rememberMe: false) {
    __typename
    ... on CurrentUser { id identifier }
    ... on ErrorResult { errorCode message }
  }
}`;
const LoginAnswer = z.object({
  login: z.object({
    __typename: z.string(),
    id: z.string().optional(),
    errorCode: z.string().optional(),
    message: z.string().optional(),
  }),
});

export interface RequestOptions {
  /** Work in this channel instead of the connection's own. */
  channelToken?: string;
  signal?: AbortSignal;
}

/** Vendure Money (an integer in the currency's minor unit) → canonical decimal string. */
export function fromMinor(amount: number, currency: string): string {
  return new Big(amount).div(10 ** minorUnits(currency)).toFixed(minorUnits(currency));
}

/** Canonical decimal → Vendure Money; a price with more digits than the currency has is refused. */
export function toMinor(amount: string, currency: string, what: string): number {
  const minor = new Big(amount).times(10 ** minorUnits(currency));
  if (!minor.round(0).eq(minor)) {
    throw new SyncError("data", `${what} ${amount} ${currency} has more decimals than ${currency} allows`, {
      field: what,
    });
  }
  return minor.toNumber();
}

/**
 * A field the schema does not have (a custom field not declared on the server, an older Vendure): the
 * answer to a document that fails validation. The message names the field and the type.
 */
function schemaMismatch(errors: GraphQLError[]): string | null {
  for (const e of errors) {
    const m =
      /Cannot query field "([^"]+)" on type "([^"]+)"/.exec(e.message) ??
      /Field "([^"]+)" is not defined by type "([^"]+)"/.exec(e.message) ??
      /Unknown argument "([^"]+)" on field "([^"]+)"/.exec(e.message);
    if (m) return `field "${m[1]}" on ${m[2]}`;
  }
  return null;
}

/**
 * The server's schema lacks a field the connector sends (an undeclared custom field, an older Vendure).
 * A configuration problem; writers report it on each record they could not write, so other flows go on.
 */
export class SchemaMismatch extends SyncError {}

/** Whether an answer refuses the session: HTTP 401, or a GraphQL error coded FORBIDDEN. */
function forbidden(res: HttpResponse): boolean {
  if (res.status === 401) return true;
  try {
    const body = Envelope.safeParse(JSON.parse(res.text()));
    return body.success && (body.data.errors ?? []).some((e) => e.extensions?.code === "FORBIDDEN");
  } catch {
    return false;
  }
}

export class VendureClient {
  private token: string | null = null;
  private loggingIn: Promise<string> | null = null;
  readonly endpoint: string;
  private readonly http: HttpClient;

  /** Deprecation notices the answers carried since the last call, per call site (http/deprecations.ts). */
  drainDeprecations() {
    return this.http.deprecations.drain();
  }

  constructor(
    private readonly system: string,
    private readonly config: VendureConfig,
    fetchApi: typeof fetch = fetch,
  ) {
    this.endpoint = `${config.url.replace(/\/+$/, "")}/${config.adminApiPath.replace(/^\/+/, "")}`;
    this.http = createHttpClient({
      system,
      vendor: "Vendure",
      baseUrl: config.url.replace(/\/+$/, ""),
      timeoutMs: config.timeoutMs,
      // Mutations are writes the engine retries after a lookup; queries are marked retry-safe below.
      retry: NO_RETRY,
      redact: [config.password],
      headers: { accept: "application/json" },
      fetch: fetchApi,
      auth: {
        headers: async () => ({ authorization: `Bearer ${this.token ?? (await this.login())}` }),
        // The session may have expired: log in again once; a second refusal is a permission problem.
        refresh: () => {
          this.token = null;
        },
        rejected: forbidden,
      },
    });
  }

  /** Requests sent (each try counts). */
  get calls(): number {
    return this.http.stats().calls;
  }

  /** Calls, throttles and latency per operation (bounded: see connectors/http/latency.ts). */
  stats(): HttpStats {
    return this.http.stats();
  }

  /** One operation; 408, 429 and 5xx are thrown classified, any other answer is returned with its body. */
  private async post(
    query: string,
    variables: Record<string, unknown>,
    opts: RequestOptions,
    auth: boolean,
  ): Promise<{ res: HttpResponse; body: z.infer<typeof Envelope> }> {
    const channel = opts.channelToken ?? this.config.channelToken;
    const operation = /^\s*(query|mutation)\s*(\w*)/.exec(query);
    const res = await this.http.send("POST", this.endpoint, {
      body: { query, variables },
      headers: channel !== undefined ? { "vendure-token": channel } : {},
      auth,
      what: operation?.[2] || operation?.[1] || "query",
      key: operation?.[2] || "anonymous",
      retrySafe: operation === null || operation[1] === "query",
      accept: (status) => status !== 408 && status !== 429 && status < 500,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let body: z.infer<typeof Envelope>;
    try {
      body = Envelope.parse(JSON.parse(res.text()));
    } catch (err) {
      throw new SyncError(
        res.status < 300 ? "retryable" : "permanent",
        `Vendure (${this.system}) answered HTTP ${res.status} with an unreadable body`,
        { status: res.status, system: this.system, cause: err },
      );
    }
    return { res, body };
  }

  private async login(): Promise<string> {
    this.loggingIn ??= (async () => {
      const { res, body } = await this.post(
        LOGIN,
        { username: this.config.username, password: this.config.password },
        {},
        false,
      );
      const parsed = LoginAnswer.safeParse(body.data);
      const token = res.headers.get("vendure-auth-token");
      if (!parsed.success || parsed.data.login.__typename !== "CurrentUser" || token === null) {
        const why = parsed.success
          ? (parsed.data.login.message ?? parsed.data.login.__typename)
          : "no answer";
        throw new SyncError(
          "config",
          `Vendure (${this.system}) refused the login of "${this.config.username}": ${why}; check username and password`,
          { status: res.status, system: this.system },
        );
      }
      this.http.addSecret(token);
      this.token = token;
      return token;
    })().finally(() => {
      this.loggingIn = null;
    });
    return this.loggingIn;
  }

  /**
   * Sends one operation and returns its `data`, checked against `shape`. Throws SyncError: config (bad
   * credentials, missing permission, a schema without a field the connector needs), retryable (network,
   * 5xx), rate_limited (429), permanent (any other GraphQL error).
   */
  async request<T>(
    query: string,
    variables: Record<string, unknown>,
    shape: z.ZodType<T>,
    opts: RequestOptions = {},
  ): Promise<T> {
    // A refused session was already retried once by the shared client (the auth hook's `rejected`).
    const { res, body } = await this.post(query, variables, opts, true);
    const errors = body.errors ?? [];
    if (forbidden(res)) {
      throw new SyncError(
        "config",
        `Vendure (${this.system}) user "${this.config.username}" is not allowed to do this: ${errors.map((e) => e.message).join("; ") || `HTTP ${res.status}`}`,
        { status: res.status, system: this.system, vendorBody: errors },
      );
    }
    if (errors.length > 0) {
      const missing = schemaMismatch(errors);
      if (missing !== null) {
        throw new SchemaMismatch(
          "config",
          `Vendure (${this.system}) has no ${missing}: its schema does not match what Passerelle sends; declare the custom field in the Vendure config or fix the connection's field names`,
          { status: res.status, system: this.system, vendorBody: errors, field: missing },
        );
      }
      throw new SyncError(
        "permanent",
        `Vendure (${this.system}) rejected the request: ${errors.map((e) => e.message).join("; ")}`,
        { status: res.status, system: this.system, vendorBody: errors },
      );
    }
    if (res.status >= 300) {
      throw new SyncError("permanent", `Vendure (${this.system}) answered HTTP ${res.status}`, {
        status: res.status,
        system: this.system,
      });
    }
    const parsed = shape.safeParse(body.data);
    if (!parsed.success) {
      throw new SyncError(
        "permanent",
        `Vendure (${this.system})'s answer has an unexpected shape: ${parsed.error.message}`,
        { system: this.system, vendorBody: body.data },
      );
    }
    return parsed.data;
  }
}
