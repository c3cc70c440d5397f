/**
 * Keeps secrets out of logs, error messages and stored payloads. Three nets: every known secret value
 * (what the configuration resolved from ${env:…} / ${file:…}) is replaced wherever it appears, even inside
 * a longer string such as a URL or a vendor's error body; the password of any `scheme://user:password@`
 * URL is masked whether or not it is known; and any field whose name says it holds a credential is blanked
 * whatever its value, which catches secrets nobody told us about.
 *
 * Short secrets are the exception to "wherever it appears": a secret of fewer than SHORT_SECRET characters
 * is replaced only where it stands alone as a value, between whitespace, quotes, backslashes (JSON inside
 * a string escapes its quotes) or the separators = & ? , ; ( ) [ ] { } < > (or the text's start or end). Replacing "1" wherever it appears would turn
 * "12 records" into "[redacted]2 records" and "user1@example.com" into "user[redacted]@example.com",
 * making ordinary text unreadable and telling which digit the secret is, while a short secret embedded in
 * a longer word, number, path or address is not that secret being shown. URL passwords are masked by the
 * URL net whatever their length.
 */

export const REDACTED = "[redacted]";

const SECRET_KEY =
  /passw(or)?d|passphrase|private[-_]?key|token|secret|api[-_]?key|authori[sz]ation|^(set-)?cookie$/i;

/** Whether a field of this name holds a credential (password, privateKey, accessToken, client_secret, apiKey, …). */
export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name);
}

/** Secrets at least this long are replaced wherever they appear; shorter ones only as whole tokens. */
export const SHORT_SECRET = 8;

/** What a short secret must stand between to be replaced (besides the text's start and end). */
const SEPARATOR = "[\\s\\\\\"'`=&?,;()\\[\\]{}<>]";

/** One form of a secret to replace: a literal (split/join, fastest) or a whole-token pattern. */
type Pattern = { text: string; whole: RegExp | null };

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The patterns to look for: each secret as written and, where it differs, URL-encoded (secrets travel
 * in query strings and connection URLs). Longest first, so a secret that contains another is replaced whole.
 */
function variants(secrets: readonly string[]): Pattern[] {
  const all = new Set<string>();
  for (const s of secrets) {
    // An empty "secret" would match everywhere and blank every string.
    if (s.length === 0) continue;
    all.add(s);
    all.add(encodeURIComponent(s));
  }
  return [...all]
    .sort((a, b) => b.length - a.length)
    .map((text) => ({
      text,
      whole:
        text.length >= SHORT_SECRET
          ? null
          : new RegExp(`(?<=^|${SEPARATOR})${escapeRegExp(text)}(?=$|${SEPARATOR})`, "gu"),
    }));
}

/** `scheme://user:password@`: the password, in any text (an error that quotes a connection URL). */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]+@/gi;

function replaceAll(text: string, patterns: readonly Pattern[]): string {
  let out = text.includes("://") ? text.replace(URL_PASSWORD, "$1:***@") : text;
  for (const p of patterns) {
    if (!out.includes(p.text)) continue;
    out = p.whole ? out.replace(p.whole, REDACTED) : out.split(p.text).join(REDACTED);
  }
  return out;
}

/** Replaces every occurrence of every secret in a string, and masks URL passwords. */
export function redactString(text: string, secrets: readonly string[]): string {
  return replaceAll(text, variants(secrets));
}

/** redactString and redact for one set of secrets, compiled once (the store redacts every page it commits). */
export interface Redactor {
  string(text: string): string;
  value(value: unknown, opts?: { fieldNames?: boolean }): unknown;
}

export function redactor(secrets: readonly string[]): Redactor {
  const patterns = variants(secrets);
  return {
    string: (text) => replaceAll(text, patterns),
    value: (value, opts = {}) => walk(value, patterns, new Set(), opts.fieldNames ?? true),
  };
}

/**
 * A deep copy of `value` with secret values replaced and, unless `fieldNames` is false, credential-named
 * fields blanked (a stored record's payload keeps its fields: a customer's `token` column is data). Errors
 * become plain objects (name, message, stack and their own fields) so nothing is lost from a log line.
 * Cycles become "[circular]". The input is never modified.
 */
export function redact(
  value: unknown,
  secrets: readonly string[],
  opts: { fieldNames?: boolean } = {},
): unknown {
  return walk(value, variants(secrets), new Set(), opts.fieldNames ?? true);
}

function walk(
  value: unknown,
  patterns: readonly Pattern[],
  ancestors: Set<object>,
  fieldNames: boolean,
): unknown {
  if (typeof value === "string") return replaceAll(value, patterns);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (ancestors.has(value)) return "[circular]";
  ancestors.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item) => walk(item, patterns, ancestors, fieldNames));
  } else {
    // An error's own fields come after (and override) its name, message, stack and cause, which are not
    // enumerable; a plain object is copied in one pass over its own enumerable fields.
    const from: Record<string, unknown> =
      value instanceof Error
        ? Object.assign(
            {
              name: value.name,
              message: value.message,
              ...(value.stack !== undefined ? { stack: value.stack } : {}),
              ...(value.cause !== undefined ? { cause: value.cause } : {}),
            } as Record<string, unknown>,
            value,
          )
        : (value as Record<string, unknown>);
    const copy: Record<string, unknown> = {};
    for (const k of Object.keys(from)) {
      const v = from[k];
      copy[k] =
        fieldNames && v !== null && v !== undefined && isSecretKey(k)
          ? REDACTED
          : walk(v, patterns, ancestors, fieldNames);
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
