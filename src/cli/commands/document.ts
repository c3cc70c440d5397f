/**
 * `passerelle document <connection> <ref>`: fetches a document a system renders — a posted invoice's PDF,
 * a delivery note — by the ref its stream puts on the canonical record (and that the flow carries to the
 * shop order), and writes it to a file. With `--link`, prints a signed link `passerelle run` serves the
 * document at instead (server.documentLinks; see src/server/document-links.ts), without fetching it.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { LINK_DAYS } from "../../config/schema.ts";
import { SyncError } from "../../core/errors.ts";
import type { Context } from "../../runtime/context.ts";
import { documentLink, linkExpiry } from "../../server/document-links.ts";
import { EXIT, type Output } from "../output.ts";

export async function documentCommand(
  ctx: Context,
  out: Output,
  connection: string,
  ref: string,
  opts: { out?: string; link?: boolean; days?: string },
): Promise<number> {
  const connector = ctx.connectors.get(connection);
  if (!connector) {
    throw new SyncError(
      "config",
      `unknown connection ${JSON.stringify(connection)}; configured: ${[...ctx.connectors.keys()].join(", ")}`,
    );
  }
  if (!connector.document) {
    throw new SyncError("config", `connection ${connection} (${connector.kind}) serves no documents`, {
      system: connection,
    });
  }
  if (opts.link) return linkTo(ctx, out, connection, ref, opts.days);
  const doc = await connector.document(ref);
  const path = resolve(opts.out ?? doc.fileName);
  writeFileSync(path, doc.bytes);
  out.result(
    { connection, ref, written: path, mimeType: doc.mimeType, bytes: doc.bytes.length },
    () => `Wrote ${path} (${doc.mimeType}, ${doc.bytes.length} bytes)`,
  );
  return EXIT.ok;
}

function linkTo(ctx: Context, out: Output, connection: string, ref: string, rawDays?: string): number {
  const settings = ctx.config.server.documentLinks;
  if (!settings) {
    throw new SyncError(
      "config",
      `--link needs server.documentLinks (secret, publicUrl) in ${ctx.configPath}: the key the links are signed with and the address they point at`,
      { field: "server.documentLinks" },
    );
  }
  const days = rawDays === undefined ? settings.days : Number(rawDays);
  if (!Number.isInteger(days) || days < LINK_DAYS.min || days > LINK_DAYS.max) {
    throw new SyncError(
      "config",
      `--days must be a whole number of days from ${LINK_DAYS.min} to ${LINK_DAYS.max}, got ${JSON.stringify(rawDays)}`,
      {
        field: "days",
      },
    );
  }
  const expiresAt = linkExpiry(new Date(), days);
  const url = documentLink(settings, connection, ref, expiresAt);
  out.result({ connection, ref, url, expiresAt: expiresAt.toISOString() }, () => url);
  return EXIT.ok;
}
