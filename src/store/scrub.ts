/**
 * The store's own net for secrets. Logs and CLI output are redacted where they are printed, but the store
 * keeps what it is given for months and `failures show`, `trace` and `status` print it back, so every text
 * the store writes that may carry a vendor's words (run errors, failure messages and details, record
 * payloads, lineage messages, job errors, inbox notes) is redacted here, before it reaches a table, with the
 * secrets the configuration resolved plus the store URL's own password. URL passwords are masked whether
 * known or not. Keys, ids and hashes are never touched: they are what the store matches on.
 */
import { type Redactor, redactor, SHORT_SECRET } from "../core/redact.ts";
import type { NewFailure, PageCommit, SyncEvent } from "../ports/store.ts";

type NewEvent = Omit<SyncEvent, "id" | "at" | "runId" | "flow">;

export class Scrubber {
  readonly #r: Redactor;
  readonly #long: Redactor;

  constructor(secrets: readonly string[]) {
    this.#r = redactor(secrets);
    // Payloads are data that `failures retry` writes again: a short secret found in them ("1" in an
    // address, an id) is a coincidence far more often than a leak, and replacing it would corrupt the retry.
    this.#long = redactor(secrets.filter((s) => s.length >= SHORT_SECRET));
  }

  text(text: string): string;
  text(text: string | null): string | null;
  text(text: string | null): string | null {
    return text === null ? null : this.#r.string(text);
  }

  /** An error's details or an event's detail: credential-named fields are blanked too. */
  detail<T>(value: T): T {
    return (value === null || value === undefined ? value : this.#r.value(value)) as T;
  }

  /**
   * A record as read or mapped: its fields are data (a `token` column stays); secrets of SHORT_SECRET
   * characters or more and URL passwords go.
   */
  payload(value: unknown): unknown {
    return value === null || value === undefined ? value : this.#long.value(value, { fieldNames: false });
  }

  event<E extends NewEvent>(e: E): E {
    return { ...e, message: this.text(e.message), detail: this.detail(e.detail) };
  }

  failure(f: NewFailure): NewFailure {
    return {
      ...f,
      sourcePayload: this.payload(f.sourcePayload),
      mappedPayload: this.payload(f.mappedPayload),
      errorMessage: this.text(f.errorMessage),
      errorDetail: this.detail(f.errorDetail),
    };
  }

  page(page: PageCommit): PageCommit {
    return {
      ...page,
      events: page.events.map((e) => this.event(e)),
      failures: page.failures.map((f) => this.failure(f)),
      ...(page.twoWayStates
        ? {
            twoWayStates: page.twoWayStates.map((s) => ({
              ...s,
              state: { ...s.state, base: this.payload(s.state.base) as typeof s.state.base },
            })),
          }
        : {}),
    };
  }
}

/** The password of a store URL, as written and decoded, for the store to redact from what it writes. */
export function urlPassword(url: string): string[] {
  try {
    const { password } = new URL(url);
    return password === "" ? [] : [password, decodeURIComponent(password)];
  } catch {
    return [];
  }
}
