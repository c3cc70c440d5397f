/**
 * `${env:NAME}` and `${file:/path}` in any string of the configuration, alone or inside a longer string
 * (`postgres://app:${env:PGPASSWORD}@db/app`). `$${` writes a literal `${`. Every value resolved this way is
 * collected, so logs and error messages can redact it wherever it later appears.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isSecretKey } from "../core/redact.ts";
import type { ConfigIssue } from "./errors.ts";

/** `scheme://user:password@host`: the password part. */
const CREDENTIALS_IN_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:([^/@\s]+)@/i;

const REFERENCE = /\$(\$?)\{(env|file):([^}]*)\}/g;

export interface SecretSources {
  env?: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
  /** Relative `${file:…}` paths are read from here (the configuration file's folder). */
  baseDir?: string;
}

export interface Resolved {
  value: unknown;
  /** Every resolved value, plus literal values of credential-named fields. */
  secrets: string[];
  issues: ConfigIssue[];
  /** Credentials written in the file itself. */
  warnings: ConfigIssue[];
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(root)" : out;
}

/** Returns a copy of `value` with every reference replaced; problems are collected, never thrown. */
export function resolveSecrets(value: unknown, sources: SecretSources = {}): Resolved {
  const env = sources.env ?? process.env;
  const read = sources.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const secrets = new Set<string>();
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];

  // An environment value is a secret when it fills a credential field (or is a URL's password); a database
  // name or a URL from the environment is not, and redacting it would hide the very names errors must show.
  const substitute = (text: string, path: readonly PropertyKey[]): string =>
    text.replace(REFERENCE, (whole, escaped: string, scheme: string, ref: string) => {
      if (escaped) return whole.slice(1);
      const name = ref.trim();
      if (name === "") {
        issues.push({ path: formatPath(path), message: `empty \${${scheme}:} reference` });
        return "";
      }
      if (scheme === "env") {
        const found = env[name];
        if (found === undefined) {
          issues.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
          return "";
        }
        const key = path.at(-1);
        if (found !== "" && typeof key === "string" && isSecretKey(key)) secrets.add(found);
        return found;
      }
      const file = isAbsolute(name) || sources.baseDir === undefined ? name : resolve(sources.baseDir, name);
      try {
        // Secret files usually end with a newline that is not part of the secret.
        const content = read(file).replace(/[\r\n]+$/, "");
        if (content !== "") secrets.add(content);
        return content;
      } catch (e) {
        const code = e !== null && typeof e === "object" && "code" in e ? ` (${String(e.code)})` : "";
        issues.push({ path: formatPath(path), message: `cannot read secret file ${file}${code}` });
        return "";
      }
    });

  const walk = (v: unknown, path: PropertyKey[]): unknown => {
    if (typeof v === "string") {
      const out = substitute(v, path);
      const key = path.at(-1);
      if (out === v && v !== "" && typeof key === "string" && isSecretKey(key)) {
        secrets.add(v);
        warnings.push({
          path: formatPath(path),
          message: `credential written in the file; prefer $\{env:NAME} or $\{file:/path}`,
        });
      }
      const inUrl = CREDENTIALS_IN_URL.exec(out);
      if (inUrl?.[1]) {
        secrets.add(inUrl[1]);
        secrets.add(decodeURIComponent(inUrl[1]));
      }
      if (out === v && inUrl?.[1]) {
        warnings.push({
          path: formatPath(path),
          message: `password written in the URL; prefer $\{env:NAME} for it`,
        });
      }
      return out;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...path, k]);
      return out;
    }
    return v;
  };

  return { value: walk(value, []), secrets: [...secrets], issues, warnings };
}
