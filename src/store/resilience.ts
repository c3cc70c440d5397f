/**
 * Store calls that outlive a lost database connection: PostgreSQL restarted, failed over, or a network
 * blip. Every store call goes through a `StoreGate`, in one of two ways:
 *
 * - `repeatable`: reads, and writes whose second application changes nothing (an UPDATE that sets values,
 *   a DELETE, an upsert conditioned on its own holder). They are simply run again.
 * - `transaction`: every other write runs in one transaction, and a transaction is never half-retried.
 *   When the connection drops before COMMIT was sent, the server has rolled it back: it is run again,
 *   whole. When it drops while COMMIT is in flight, nobody can tell from the client whether it committed,
 *   so the transaction's id, taken first inside it (txid_current), is asked about once the server answers
 *   again (txid_status): committed, and the call returns what the transaction produced; aborted, and it is
 *   run again; unknown, and the call fails saying so rather than guess. Retrying blindly would count a
 *   page twice or record a second run; giving up would leave the caller thinking a committed page failed.
 *
 * Retries back off exponentially with jitter for at most `budgetMs` (the store URL's `retry_ms`), then the
 * call fails with a retryable SyncError naming the store (password masked), the operation and the last
 * error. After a call has given up, later calls try once without waiting until one succeeds, so a caller
 * that records its failure on the way out (the engine's last page, finishRun) neither waits the whole
 * budget again nor loses the record when the store is back by then. Only lost connections are retried:
 * a constraint violation or a syntax error fails at once. SQLite is in-process and never loses its
 * connection, so there every call runs once.
 */
import { type Kysely, type QueryExecutorProvider, sql, type Transaction } from "kysely";
import { SyncError } from "../core/errors.ts";
import { named } from "./errors.ts";
import type { StoreLogger } from "./kysely-store.ts";
import type { Database, DialectName } from "./schema.ts";

/** Default of the store URL's retry_ms: how long a call keeps trying while the database is unreachable. */
export const DEFAULT_RETRY_MS = 60_000;

const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

/** Socket errors of a connection that dropped or could not be made. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a lost connection: class 08 (connection exception), 57P01 admin_shutdown (a fast
 * shutdown or restart terminates every session), 57P02 crash_shutdown, 57P03 cannot_connect_now (the
 * server is starting up or shutting down).
 */
const LOST_STATE = /^(08...|57P0[123])$/;

/** What node-postgres says when the socket went away under it (these errors carry no code). */
const LOST_MESSAGE =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended unexpectedly/i;

/** Whether `err` (or anything in its cause chain) says the database connection was lost or refused. */
export function connectionLost(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && e !== undefined && depth < 8; depth++) {
    if (e instanceof CommitPending) return true;
    if (typeof e !== "object") return false;
    const { code, message, errors } = e as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === "string" && (NETWORK_CODES.has(code) || LOST_STATE.test(code))) return true;
    if (typeof message === "string" && LOST_MESSAGE.test(message)) return true;
    if (Array.isArray(errors) && errors.some(connectionLost)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A transaction whose commit is still running on the server: asked about again after a pause. */
class CommitPending extends Error {}

export interface GateOptions {
  dialect: DialectName;
  /** The store URL as it may be shown (password masked). */
  where: string;
  /** How long one call keeps retrying a lost connection; 0: it fails at once. */
  budgetMs: number;
  logger?: StoreLogger;
  sleep?: (ms: number) => Promise<void>;
  /** Clock for the budget (tests pair a fake clock with a fake sleep). */
  now?: () => number;
  random?: () => number;
}

const realSleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export class StoreGate {
  readonly #db: Kysely<Database>;
  readonly #opts: GateOptions;
  /** When the call that gave up began, none having succeeded since: calls try once, without waiting. */
  #downSince: number | null = null;

  constructor(db: Kysely<Database>, opts: GateOptions) {
    this.#db = db;
    this.#opts = opts;
  }

  /** Runs a read, or a write that is harmless to apply twice, again after a lost connection. */
  repeatable<T>(operation: string, work: () => Promise<T>): Promise<T> {
    return this.#retry(operation, () => named(operation, work));
  }

  /**
   * Runs `work` in one transaction; after a lost connection, runs it again only when it is known not to
   * have committed (see the top of this file).
   */
  transaction<T, DB = Database>(operation: string, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    const db = this.#db as unknown as Kysely<DB>;
    const pg = this.#opts.dialect === "postgres";
    let pending: { xid: string; result: T } | null = null;
    return this.#retry(operation, async () => {
      if (pending !== null) {
        const { xid } = pending;
        const status = await named(`${operation}: ask whether transaction ${xid} committed`, () =>
          this.#commitStatus(xid),
        );
        this.#opts.logger?.warn(
          { store: this.#opts.where, operation, transaction: xid, status },
          "store commit outcome checked after a lost connection",
        );
        if (status === "committed") return pending.result;
        if (status === "in progress")
          throw new CommitPending(`transaction ${pending.xid} is still committing`);
        if (status !== "aborted") {
          throw new SyncError(
            "retryable",
            `store ${this.#opts.where}: ${operation}: the connection was lost while committing, and PostgreSQL no longer knows whether transaction ${xid} committed`,
            { system: "store" },
          );
        }
        pending = null;
      }
      let xid: string | null = null;
      let result: T | undefined;
      let sent = false;
      try {
        return await named(operation, () =>
          db.transaction().execute(async (trx) => {
            if (pg) xid = await currentXid(trx);
            result = await work(trx);
            // From here on Kysely sends COMMIT: a connection lost now leaves the outcome unknown.
            sent = true;
            return result;
          }),
        );
      } catch (err) {
        if (sent && xid !== null && connectionLost(err)) pending = { xid, result: result as T };
        throw err;
      }
    });
  }

  async #commitStatus(xid: string): Promise<string | null> {
    const { rows } = await sql<{
      status: string | null;
    }>`select txid_status(${xid}::bigint) as status`.execute(this.#db);
    return rows[0]?.status ?? null;
  }

  async #retry<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
    const now = this.#opts.now ?? Date.now;
    const sleep = this.#opts.sleep ?? realSleep;
    const random = this.#opts.random ?? Math.random;
    const { logger, where, budgetMs } = this.#opts;
    const started = now();
    for (let n = 1; ; n++) {
      try {
        const out = await attempt();
        if (this.#downSince !== null || n > 1) {
          logger?.warn(
            { store: where, operation, attempts: n, waitedMs: now() - started },
            "store reachable again",
          );
        }
        this.#downSince = null;
        return out;
      } catch (err) {
        if (!connectionLost(err)) throw err;
        const exp = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (n - 1));
        const delay = Math.round(exp / 2 + random() * (exp / 2));
        const elapsed = now() - started;
        if (this.#downSince !== null) {
          const since = Math.round((now() - this.#downSince) / 1000);
          throw new SyncError(
            "retryable",
            `store ${where} still unreachable (for ${since} s; retry_ms=${budgetMs} passed): ${operation} failed: ${reason(err)}`,
            { system: "store", cause: err },
          );
        }
        if (elapsed + delay > budgetMs) {
          this.#downSince = started;
          throw new SyncError(
            "retryable",
            `store ${where} unreachable: ${operation} failed after ${n} attempt(s) over ${Math.round(elapsed / 1000)} s (retry_ms=${budgetMs}): ${reason(err)}`,
            { system: "store", cause: err },
          );
        }
        const log = { store: where, operation, attempt: n, retryInMs: delay, err: reason(err) };
        if (n === 1) logger?.warn({ ...log, retryForMs: budgetMs }, "store connection lost; retrying");
        else logger?.info(log, "store still unreachable; retrying");
        await sleep(delay);
      }
    }
  }
}

async function currentXid(trx: QueryExecutorProvider): Promise<string> {
  // As text: transaction ids are 64-bit, and the pool parses int8 as a JavaScript number.
  const { rows } = await sql<{ xid: string }>`select txid_current()::text as xid`.execute(trx);
  const xid = rows[0]?.xid;
  if (xid === undefined) throw new Error("txid_current() returned no row");
  return xid;
}

/** The innermost message of an error chain: the database's own words, not our wrapping of them. */
function reason(err: unknown): string {
  let e: unknown = err;
  let text = err instanceof Error ? err.message : String(err);
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e.message) text = e.message;
    if (e instanceof AggregateError && e.errors[0] instanceof Error) text = e.errors[0].message;
    e = e.cause;
  }
  return text;
}
