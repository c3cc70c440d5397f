/**
 * The secrets one connection's client keeps out of errors and log lines: the configured ones (a password,
 * an API token) and those learnt at run time (a session id, a bearer token the auth hook sends). Only the
 * latest run-time secrets are kept, so a connection that logs in again every hour does not grow the list.
 */
import { type Redactor, redactor } from "../../core/redact.ts";

/** Run-time secrets remembered: a few sessions back is enough for any answer still in flight. */
const MAX_LEARNT = 16;
/** Shorter run-time values are not taken for secrets (they would blank ordinary words). */
const MIN_LEARNT = 8;
const CREDENTIAL_HEADER = /^(authorization|cookie|x-[\w-]*(token|key|secret)[\w-]*|[\w-]*-token)$/i;

export class Secrets {
  readonly #configured: string[];
  readonly #learnt: string[] = [];
  #redactor: Redactor;

  constructor(configured: readonly string[]) {
    this.#configured = configured.filter((s) => s.length > 0);
    this.#redactor = redactor(this.#configured);
  }

  get redactor(): Redactor {
    return this.#redactor;
  }

  add(secret: string): void {
    if (secret.length < MIN_LEARNT || this.#configured.includes(secret) || this.#learnt.includes(secret))
      return;
    this.#learnt.push(secret);
    if (this.#learnt.length > MAX_LEARNT) this.#learnt.shift();
    this.#redactor = redactor([...this.#configured, ...this.#learnt]);
  }

  /** Credentials in request headers: the whole value, the part after its scheme ("Bearer x"), cookie values. */
  fromHeaders(headers: Record<string, string>): void {
    for (const [name, value] of Object.entries(headers)) {
      if (!CREDENTIAL_HEADER.test(name)) continue;
      this.add(value);
      this.add(value.replace(/^\S+\s+/, ""));
      for (const m of value.matchAll(/=([^;\s]+)/g)) this.add(m[1] ?? "");
    }
  }
}
