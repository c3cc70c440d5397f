/**
 * Keeps secrets out of logs, error messages and stored payloads. Two nets: every known secret value
 * (what the configuration resolved from ${env:…} / ${file:…}) is replaced wherever it appears, even inside
 * a longer string such as a URL or a vendor's error body; and any field whose name says it holds a
 * credential is blanked whatever its value, which catches secrets nobody told us about.
 */

export const REDACTED = "[redacted]";

const SECRET_KEY = /passw(or)?d|passphrase|token|secret|api[-_]?key|authori[sz]ation|^(set-)?cookie$/i;

/** Whether a field of this name holds a credential (password, accessToken, client_secret, apiKey, …). */
export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name);
}

/**
 * The patterns to look for: each secret as written and, where it differs, URL-encoded (secrets travel
 * in query strings and connection URLs). Longest first, so a secret that contains another is replaced whole.
 */
function variants(secrets: readonly string[]): string[] {
  const all = new Set<string>();
  for (const s of secrets) {
    // An empty "secret" would match everywhere and blank every string.
    if (s.length === 0) continue;
    all.add(s);
    all.add(encodeURIComponent(s));
  }
  return [...all].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, patterns: readonly string[]): string {
  let out = text;
  for (const p of patterns) if (out.includes(p)) out = out.split(p).join(REDACTED);
  return out;
}

/** Replaces every occurrence of every secret in a string. */
export function redactString(text: string, secrets: readonly string[]): string {
  return replaceAll(text, variants(secrets));
}

/**
 * A deep copy of `value` with secret values replaced and credential-named fields blanked. Errors become
 * plain objects (name, message, stack and their own fields) so nothing is lost from a log line. Cycles
 * become "[circular]". The input is never modified.
 */
export function redact(value: unknown, secrets: readonly string[]): unknown {
  return walk(value, variants(secrets), new Set());
}

function walk(value: unknown, patterns: readonly string[], ancestors: Set<object>): unknown {
  if (typeof value === "string") return replaceAll(value, patterns);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (ancestors.has(value)) return "[circular]";
  ancestors.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item) => walk(item, patterns, ancestors));
  } else {
    const copy: Record<string, unknown> = {};
    if (value instanceof Error) {
      copy.name = value.name;
      copy.message = value.message;
      if (value.stack !== undefined) copy.stack = value.stack;
      if (value.cause !== undefined) copy.cause = value.cause;
    }
    for (const [k, v] of Object.entries(value)) copy[k] = v;
    for (const [k, v] of Object.entries(copy)) {
      copy[k] = isSecretKey(k) && v !== null && v !== undefined ? REDACTED : walk(v, patterns, ancestors);
    }
    out = copy;
  }
  ancestors.delete(value);
  return out;
}

/** The URL as it may appear in logs and errors: any password replaced by ***. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") {
      u.password = "***";
      return u.toString();
    }
  } catch {
    // Not a URL the WHATWG parser accepts; fall through to the pattern.
  }
  return url.replace(/\/\/([^/:@]*):[^@/]*@/, "//$1:***@");
}
