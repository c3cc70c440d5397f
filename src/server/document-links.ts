/**
 * Signed document links: a URL a shop can hand its customer (an order page's "download the invoice" or
 * "delivery note"), which `passerelle run` answers with the PDF the ERP renders, without an API token.
 * The link names the connection, the document ref and when it expires; its signature is an HMAC-SHA256 of
 * those three under `server.documentLinks.secret`, so a link cannot be made for another document or kept
 * past its expiry, and changing the secret revokes every link given out.
 *
 *   GET /documents/<connection>?ref=<document ref>&expires=<unix seconds>&sig=<base64url HMAC>
 *
 * The PDF is fetched from the ERP on every request (nothing is stored here). A refusal says which of the
 * link's parts is wrong and never what the ERP said: the reason is logged for the operator instead.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { DocumentFile } from "../ports/connector.ts";

export interface DocumentLinkSettings {
  /** The HMAC key (at least 32 characters; from ${env:…} or ${file:…}). */
  secret: string;
  /** Where shoppers reach this server, e.g. https://sync.example.com (a proxy may sit in between). */
  publicUrl: string;
}

const VERSION = "v1";

/** When a link made `days` after `from` expires. */
export function linkExpiry(from: Date, days: number): Date {
  return new Date(from.getTime() + days * 86_400_000);
}

function signature(secret: string, connection: string, ref: string, expires: number): Buffer {
  return createHmac("sha256", secret).update(`${VERSION}\n${connection}\n${ref}\n${expires}`).digest();
}

/** The signed link to a document, valid until `expiresAt` (to the second). */
export function documentLink(
  settings: DocumentLinkSettings,
  connection: string,
  ref: string,
  expiresAt: Date,
): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const sig = signature(settings.secret, connection, ref, expires).toString("base64url");
  const base = settings.publicUrl.replace(/\/+$/, "");
  const query = new URLSearchParams({ ref, expires: String(expires), sig });
  return `${base}/documents/${encodeURIComponent(connection)}?${query}`;
}

export type LinkCheck = { ok: true } | { ok: false; status: 400 | 403 | 410; reason: string };

/** Whether a link's parts are the ones signed, and it has not expired. */
export function checkDocumentLink(
  secret: string,
  link: { connection: string; ref?: string; expires?: string; sig?: string },
  now: Date,
): LinkCheck {
  const { connection, ref, expires, sig } = link;
  if (!ref) return { ok: false, status: 400, reason: "the link has no ref" };
  if (!expires || !/^\d{1,12}$/.test(expires))
    return {
      ok: false,
      status: 400,
      reason: `the link's expires is not a time: ${JSON.stringify(expires ?? "")}`,
    };
  if (!sig || !/^[A-Za-z0-9_-]{43}$/.test(sig))
    return { ok: false, status: 403, reason: "the link's signature is missing or malformed" };
  const want = signature(secret, connection, ref, Number(expires));
  if (!timingSafeEqual(want, Buffer.from(sig, "base64url")))
    return {
      ok: false,
      status: 403,
      reason: "the link's signature does not match (altered, or the secret changed)",
    };
  if (Number(expires) * 1000 <= now.getTime())
    return {
      ok: false,
      status: 410,
      reason: `the link expired at ${new Date(Number(expires) * 1000).toISOString()}`,
    };
  return { ok: true };
}

/** A file name safe for Content-Disposition: the system's name with anything odd replaced. */
function safeFileName(name: string): string {
  const cleaned = name.replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "");
  return cleaned || "document.pdf";
}

export interface DocumentLinkRoutes {
  secret: string;
  /** The connection's document, or null when the connection is unknown or serves none. */
  fetch(connection: string, ref: string, signal: AbortSignal): Promise<DocumentFile> | null;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now?: () => Date;
}

export function registerDocumentLinks(app: FastifyInstance, opts: DocumentLinkRoutes): void {
  const now = opts.now ?? (() => new Date());
  app.get<{
    Params: { connection: string };
    Querystring: { ref?: string; expires?: string; sig?: string };
  }>("/documents/:connection", async (req, reply) => {
    const { connection } = req.params;
    const q = req.query;
    const checked = checkDocumentLink(opts.secret, { connection, ...q }, now());
    const refuse = (status: number, reason: string) =>
      reply.code(status).header("cache-control", "no-store").type("application/json").send({ error: reason });
    if (!checked.ok) {
      opts.logger?.info(
        { connection, status: checked.status, reason: checked.reason },
        "document link refused",
      );
      return refuse(checked.status, checked.reason);
    }
    const ref = q.ref as string;
    const abort = new AbortController();
    req.raw.once("close", () => abort.abort());
    const pending = opts.fetch(connection, ref, abort.signal);
    if (!pending) return refuse(404, `connection ${JSON.stringify(connection)} serves no documents`);
    let doc: DocumentFile;
    try {
      doc = await pending;
    } catch (err) {
      opts.logger?.warn(
        { connection, ref, err: err instanceof Error ? err.message : String(err) },
        "document link: the system could not render the document",
      );
      return refuse(
        502,
        `the system behind ${JSON.stringify(connection)} could not render this document now`,
      );
    }
    return reply
      .code(200)
      .type(doc.mimeType)
      .header("content-disposition", `attachment; filename="${safeFileName(doc.fileName)}"`)
      .header("cache-control", "private, no-store")
      .header("x-content-type-options", "nosniff")
      .send(Buffer.from(doc.bytes));
  });
}
