/**
 * Reads passerelle.yaml: YAML with positions → secrets resolved → validated against the schema of the
 * registered connectors. Fails with ONE ConfigError listing every problem, one per line, as
 * `<path>: <problem> (got <value>) (line N)`, secrets redacted; a person fixes the file in one pass.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isMap, isNode } from "yaml";
import type { z } from "zod";
import { isSecretKey, REDACTED, redact, redactString } from "../core/redact.ts";
import { show } from "../core/show.ts";
import type { ConnectorDefinition } from "../ports/connector.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { buildConfigSchema, type PasserelleConfig, QUIET } from "./schema.ts";
import { formatPath, resolveSecrets, type SecretSources } from "./secrets.ts";
import { parseYaml } from "./yaml.ts";

export interface LoadedConfig {
  config: PasserelleConfig;
  /** Secret values resolved from ${env:…} / ${file:…} (and literal credentials): redact them everywhere. */
  secrets: string[];
  /** Problems that do not stop loading, e.g. a password written in the file. */
  warnings: string[];
}

export interface ParseOptions extends Omit<SecretSources, "baseDir"> {
  /** Named in error messages. */
  filename?: string;
  /** Folder relative ${file:…} paths are read from; defaults to the configuration file's folder. */
  baseDir?: string;
}

export function loadConfig(
  path: string,
  definitions: readonly ConnectorDefinition[],
  opts: Omit<ParseOptions, "filename"> = {},
): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = e !== null && typeof e === "object" && "code" in e ? ` (${String(e.code)})` : "";
    throw new ConfigError(
      [{ path, message: `cannot read the configuration file${code}` }],
      "no configuration",
    );
  }
  return parseConfig(text, definitions, { baseDir: dirname(resolve(path)), ...opts, filename: path });
}

interface Located extends ConfigIssue {
  line?: number;
}

export function parseConfig(
  text: string,
  definitions: readonly ConnectorDefinition[],
  opts: ParseOptions = {},
): LoadedConfig {
  const filename = opts.filename ?? "passerelle.yaml";
  const yaml = parseYaml(text);
  if (yaml.doc === undefined) {
    const issues = yaml.problems.map((p) => ({ path: "(yaml)", line: p.line, message: p.message }));
    throw new ConfigError(issues.map(withLine), `${filename} is not valid YAML`);
  }
  const { doc, lineOf } = yaml;

  // parseYaml has bounded what the aliases expand to; the library's own guard counts uses of an anchor
  // instead, and would refuse a small anchor used a hundred times.
  const raw: unknown = doc.toJS({ maxAliasCount: -1 });
  if (raw === null || raw === undefined) {
    throw new ConfigError(
      [{ path: "(root)", message: "the file is empty; it starts with `version: 1`" }],
      filename,
    );
  }
  const resolved = resolveSecrets(raw, opts);
  const secrets = resolved.secrets;

  /** The line of the deepest node that exists along `path`; for a field, the line of its name. */
  const lineAt = (path: readonly PropertyKey[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (!isNode(node) || !node.range) continue;
      // A block value starts on the line after its key, where nothing names the field.
      const parent = n > 0 ? doc.getIn(path.slice(0, n - 1), true) : undefined;
      const key = isMap(parent) ? parent.items.find((p) => p.value === node)?.key : undefined;
      return lineOf(isNode(key) && key.range ? key.range[0] : node.range[0]);
    }
    return undefined;
  };

  const issues: Located[] = resolved.issues.map((i) => ({ ...i, line: lineAt(splitPath(i.path)) }));
  const failedSecrets = new Set(resolved.issues.map((i) => i.path));

  const parsed = buildConfigSchema(definitions).safeParse(resolved.value);
  if (!parsed.success) {
    for (const issue of flatten(parsed.error.issues, [])) {
      const path = formatPath(issue.path);
      // A missing secret also makes its field invalid; the secret's issue already says why.
      if (failedSecrets.has(path)) continue;
      const value = valueAt(resolved.value, issue.path);
      issues.push({ path, line: lineAt(issue.path), message: describe(issue, value, secrets) });
    }
  }

  if (issues.length > 0 || !parsed.success) {
    issues.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
    const clean = issues.map((i) => withLine({ ...i, message: redactString(i.message, secrets) }));
    throw new ConfigError(clean, `${filename}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`);
  }

  const warnings = resolved.warnings.map((w) => {
    const line = lineAt(splitPath(w.path));
    return `${w.path}: ${w.message}${line === undefined ? "" : ` (line ${line})`}`;
  });
  return { config: parsed.data, secrets, warnings };
}

function withLine(issue: Located): ConfigIssue {
  return {
    path: issue.path,
    message: issue.line === undefined ? issue.message : `${issue.message} (line ${issue.line})`,
  };
}

/** `flows.orders.lines[2].sku` → ["flows", "orders", "lines", 2, "sku"] (inverse of formatPath). */
function splitPath(path: string): PropertyKey[] {
  if (path === "(root)") return [];
  const out: PropertyKey[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]?.match(/\d+/g) ?? []) out.push(Number(idx));
  }
  return out;
}

type Issue = z.core.$ZodIssue;

interface FlatIssue {
  path: PropertyKey[];
  issue: Issue;
}

/**
 * Zod reports a failed union as "Invalid input" with each option's issues inside. When only one option
 * was plausible (the others failed on the type of the value itself), its issues are the real ones.
 * Unknown keys are split one per key so each gets its own path and line.
 */
function flatten(issues: readonly Issue[], prefix: PropertyKey[]): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const plausible = issue.errors.filter(
        (branch) => !branch.every((i) => i.code === "invalid_type" && i.path.length === 0),
      );
      if (plausible.length === 1 && plausible[0]) {
        out.push(...flatten(plausible[0], path));
        continue;
      }
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: [...path, key], issue });
      continue;
    }
    out.push({ path, issue });
  }
  return out;
}

function describe(flat: FlatIssue, value: unknown, secrets: readonly string[]): string {
  const { issue, path } = flat;
  if (issue.code === "unrecognized_keys") return "unknown field";
  if (issue.code === "invalid_key") {
    const inner = issue.issues[0]?.message ?? issue.message;
    return `bad name ${JSON.stringify(String(path.at(-1)))}: ${inner}`;
  }
  if (issue.code === "invalid_type" && value === undefined) return `missing (expected ${issue.expected})`;
  const quiet = issue.code === "custom" && issue.params?.showValue === QUIET.showValue;
  if (quiet || value === undefined || issue.message.includes("(got ")) return issue.message;
  const key = path.at(-1);
  const shown = typeof key === "string" && isSecretKey(key) ? REDACTED : show(redact(value, secrets), 60);
  return `${issue.message} (got ${shown})`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== "object" || typeof p === "symbol") return undefined;
    cur = Object.hasOwn(cur, p) ? Reflect.get(cur, p) : undefined;
  }
  return cur;
}
