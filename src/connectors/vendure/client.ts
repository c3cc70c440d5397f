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
import { retryAfterMs } from "../../core/retry-after.ts";
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

export class VendureClient {
  private token: string | null = null;
  private loggingIn: Promise<string> | null = null;
  calls = 0;
  readonly endpoint: string;

  constructor(
    private readonly system: string,
    private readonly config: VendureConfig,
    private readonly fetchApi: typeof fetch = fetch,
  ) {
    this.endpoint = `${config.url.replace(/\/+$/, "")}/${config.adminApiPath.replace(/^\/+/, "")}`;
  }

  private async post(
    query: string,
    variables: Record<string, unknown>,
    opts: RequestOptions,
    token: string | null,
  ): Promise<{ res: Response; body: z.infer<typeof Envelope> }> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
    };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const channel = opts.channelToken ?? this.config.channelToken;
    if (channel !== undefined) headers["vendure-token"] = channel;
    this.calls += 1;
    let res: Response;
    try {
      const signals = [AbortSignal.timeout(this.config.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
      res = await this.fetchApi(this.endpoint, {
        method: "POST",
        headers,
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      throw new SyncError(
        "retryable",
        `Vendure (${this.system}) at ${this.endpoint} is unreachable: ${err instanceof Error ? err.message : String(err)}`,
        { system: this.system, cause: err },
      );
    }
    if (res.status === 429 || res.status === 408 || res.status >= 500) {
      throw new SyncError(
        res.status === 429 ? "rate_limited" : "retryable",
        `Vendure (${this.system}) answered HTTP ${res.status}`,
        {
          status: res.status,
          system: this.system,
          retryAfterMs: retryAfterMs(res.headers.get("retry-after"), Date.now()) ?? undefined,
        },
      );
    }
    let body: z.infer<typeof Envelope>;
    try {
      body = Envelope.parse(await res.json());
    } catch (err) {
      throw new SyncError(
        res.ok ? "retryable" : "permanent",
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
        null,
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
    for (let attempt = 0; ; attempt++) {
      const token = this.token ?? (await this.login());
      const { res, body } = await this.post(query, variables, opts, token);
      const errors = body.errors ?? [];
      const forbidden = res.status === 401 || errors.some((e) => e.extensions?.code === "FORBIDDEN");
      if (forbidden && attempt === 0) {
        // The session may have expired: log in again once; a second refusal is a permission problem.
        this.token = null;
        continue;
      }
      if (forbidden) {
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
      if (!res.ok) {
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
}
