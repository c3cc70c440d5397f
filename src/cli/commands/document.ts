/**
 * `passerelle document <connection> <ref>`: fetches a document a system renders — a posted invoice's PDF —
 * by the ref its invoice stream puts on the canonical invoice (and that the invoice flow carries to the
 * shop order), and writes it to a file.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { SyncError } from "../../core/errors.ts";
import type { Context } from "../../runtime/context.ts";
import { EXIT, type Output } from "../output.ts";

export async function documentCommand(
  ctx: Context,
  out: Output,
  connection: string,
  ref: string,
  opts: { out?: string },
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
  const doc = await connector.document(ref);
  const path = resolve(opts.out ?? doc.fileName);
  writeFileSync(path, doc.bytes);
  out.result(
    { connection, ref, written: path, mimeType: doc.mimeType, bytes: doc.bytes.length },
    () => `Wrote ${path} (${doc.mimeType}, ${doc.bytes.length} bytes)`,
  );
  return EXIT.ok;
}
