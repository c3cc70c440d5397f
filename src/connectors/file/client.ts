/** What a file connection's streams and writers share: the folder, the settings, compiled mappings. */
import { createHash } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import { compileFields, type FieldMap } from "../record-mapping.ts";
import type { EntityFiles, FileConfig } from "./config.ts";
import { type Files, filesFor } from "./fs.ts";

export interface EntityContext {
  entity: EntityName;
  settings: EntityFiles;
  pattern: RegExp;
  /** Row → canonical; null: the row is the record. */
  read: FieldMap | null;
  /** Canonical → output fields; null: the canonical record. */
  write: FieldMap | null;
}

export interface FileClient {
  name: string;
  config: FileConfig;
  files: Files;
  /** Waits between the two looks of the settle check (tests pass their own). */
  sleep: (ms: number) => Promise<void>;
  entity(entity: EntityName): EntityContext;
}

/** `*`, `?`, `[abc]`, `{a,b}` on a file name (no folders). */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  let inClass = false;
  let braces = 0;
  for (const ch of glob) {
    if (inClass) {
      re += ch === "]" ? "]" : ch === "\\" ? "\\\\" : ch;
      if (ch === "]") inClass = false;
      continue;
    }
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      inClass = true;
      re += "[";
    } else if (ch === "{") {
      braces++;
      re += "(?:";
    } else if (ch === "}" && braces > 0) {
      braces--;
      re += ")";
    } else if (ch === "," && braces > 0) re += "|";
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export function createClient(
  name: string,
  config: FileConfig,
  opts: { files?: Files; sleep?: (ms: number) => Promise<void> } = {},
): FileClient {
  const contexts = new Map<EntityName, EntityContext>();
  for (const [entity, settings] of Object.entries(config.entities) as [EntityName, EntityFiles][]) {
    const path = `entities.${entity}`;
    contexts.set(entity, {
      entity,
      settings,
      pattern: globToRegExp(settings.pattern),
      read: settings.fields ? compileFields(settings.fields, `${path}.fields`) : null,
      write: settings.write?.fields ? compileFields(settings.write.fields, `${path}.write.fields`) : null,
    });
  }
  return {
    name,
    config,
    files: opts.files ?? filesFor(name, config),
    sleep: opts.sleep ?? ((ms) => delay(ms)),
    entity(entity) {
      const ctx = contexts.get(entity);
      if (!ctx) {
        throw new SyncError(
          "config",
          `${name}: no files are configured for ${entity} (entities.${entity} in the connection's settings); configured: ${[...contexts.keys()].join(", ")}`,
          { system: name },
        );
      }
      return ctx;
    },
  };
}

export const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");
