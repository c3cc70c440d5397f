/**
 * The service side of OData `$batch` for the OData emulators (SAP Business One's Service Layer, OData v4;
 * S/4HANA's Gateway, OData v2): reads a multipart/mixed batch request into its requests and change sets,
 * refusing a malformed one with a message naming what is wrong, and writes the multipart/mixed answer.
 *
 * The rules modelled, from OData Version 4.0 Part 1: Protocol, §11.7 "Batch Requests", and OData V2's
 * "Batch Processing" (which SAP Gateway follows, SAP Help "$batch Processing"): the batch is a POST of
 * `Content-Type: multipart/mixed; boundary=…`; each part is either one request (`Content-Type:
 * application/http`, `Content-Transfer-Encoding: binary`, then the request line, headers, blank line,
 * body) or a change set (a nested multipart/mixed of requests that are applied all or none). A change set
 * holds no reads and no change set. In OData v4 every request of a change set carries a Content-ID, and
 * its answer repeats it. A change set that fails is answered by one application/http part: the failed
 * request's answer.
 */
import { STATUS_CODES } from "node:http";

export class BatchRequestError extends Error {}

export interface InnerRequest {
  contentId: string | undefined;
  method: string;
  /** As written in the request line (absolute path, relative to the service root, or absolute URL). */
  url: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

export type BatchItem =
  | { kind: "request"; request: InnerRequest }
  | { kind: "changeset"; requests: InnerRequest[] };

export interface InnerResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type BatchResult =
  | { kind: "request"; response: InnerResponse }
  | { kind: "changeset"; responses: { contentId: string | undefined; response: InnerResponse }[] }
  /** A change set that failed, answered by its failed request's answer alone. */
  | { kind: "failed-changeset"; contentId: string | undefined; response: InnerResponse };

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "MERGE", "DELETE"]);

export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^\s*multipart\/mixed\b/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? ((m[1] ?? m[2]) as string) : null;
}

function parts(body: string, boundary: string, where: string): string[] {
  const esc = boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${esc}(--)?[ \\t]*(?=\\r?\\n|$)`);
  const out: string[] = [];
  let rest = body;
  let first = true;
  for (;;) {
    const m = delimiter.exec(rest);
    if (!m) {
      throw new BatchRequestError(
        first
          ? `${where}: no delimiter --${boundary} (the boundary of its Content-Type)`
          : `${where}: no closing delimiter --${boundary}--`,
      );
    }
    if (!first) out.push(rest.slice(0, m.index));
    first = false;
    rest = rest.slice(m.index + m[0].length).replace(/^\r?\n/, "");
    if (m[1] === "--") return out;
  }
}

function head(text: string): { headers: Record<string, string>; body: string } {
  // No headers at all: the blank line comes first.
  const m = /^\r?\n/.exec(text) ?? /\r?\n\r?\n/.exec(text);
  const top = m ? text.slice(0, m.index) : text;
  const headers: Record<string, string> = {};
  for (const line of top.split(/\r?\n/)) {
    if (line === "") continue;
    const i = line.indexOf(":");
    if (i <= 0) throw new BatchRequestError(`not a header line: ${JSON.stringify(line.slice(0, 60))}`);
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body: m ? text.slice(m.index + m[0].length) : "" };
}

function request(text: string, where: string, version: "v2" | "v4", inChangeset: boolean): InnerRequest {
  const mime = head(text);
  const type = mime.headers["content-type"] ?? "";
  if (!/^application\/http\b/i.test(type)) {
    throw new BatchRequestError(
      `${where}: Content-Type must be application/http, got ${JSON.stringify(type)}`,
    );
  }
  const cte = mime.headers["content-transfer-encoding"];
  if (cte !== undefined && cte.toLowerCase() !== "binary") {
    throw new BatchRequestError(
      `${where}: Content-Transfer-Encoding must be binary, got ${JSON.stringify(cte)}`,
    );
  }
  const nl = /\r?\n/.exec(mime.body);
  const line = nl ? mime.body.slice(0, nl.index) : mime.body;
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) {
    throw new BatchRequestError(
      `${where}: the request line must be "<METHOD> <URL> HTTP/1.1", got ${JSON.stringify(line.slice(0, 80))}`,
    );
  }
  const method = m[1] as string;
  if (!METHODS.has(method)) throw new BatchRequestError(`${where}: unknown method ${method}`);
  if (inChangeset && method === "GET") {
    throw new BatchRequestError(`${where}: a change set may not hold a GET (reads go outside change sets)`);
  }
  const inner = head(nl ? mime.body.slice(nl.index + nl[0].length) : "");
  const contentId = mime.headers["content-id"] ?? inner.headers["content-id"];
  if (inChangeset && version === "v4" && contentId === undefined) {
    throw new BatchRequestError(`${where}: every request of a change set needs a Content-ID (OData v4)`);
  }
  return { contentId, method, url: m[2] as string, headers: inner.headers, body: inner.body };
}

/** The batch's requests and change sets, in order; a malformed batch throws a BatchRequestError. */
export function parseBatchRequest(
  contentType: string | undefined,
  body: string,
  version: "v2" | "v4",
): BatchItem[] {
  const b = boundaryOf(contentType);
  if (!b) {
    throw new BatchRequestError(
      `a $batch must be Content-Type multipart/mixed with a boundary, got ${JSON.stringify(contentType ?? "")}`,
    );
  }
  const items: BatchItem[] = [];
  parts(body, b, "the batch").forEach((text, i) => {
    const where = `batch part ${i + 1}`;
    const mime = head(text);
    const nested = boundaryOf(mime.headers["content-type"]);
    if (!nested) {
      items.push({ kind: "request", request: request(text, where, version, false) });
      return;
    }
    const requests = parts(mime.body, nested, `${where} (change set)`).map((t, j) => {
      const w = `${where}, change set request ${j + 1}`;
      if (boundaryOf(head(t).headers["content-type"])) {
        throw new BatchRequestError(`${w}: change sets may not be nested`);
      }
      return request(t, w, version, true);
    });
    if (requests.length === 0) throw new BatchRequestError(`${where}: an empty change set`);
    const ids = new Set<string>();
    for (const r of requests) {
      if (r.contentId === undefined) continue;
      if (ids.has(r.contentId))
        throw new BatchRequestError(`${where}: Content-ID ${r.contentId} is used twice`);
      ids.add(r.contentId);
    }
    items.push({ kind: "changeset", requests });
  });
  if (items.length === 0) throw new BatchRequestError("the batch holds no request");
  return items;
}

const CRLF = "\r\n";

function responsePart(r: InnerResponse, contentId: string | undefined): string {
  const lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push("", `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ""}`.trimEnd());
  for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`);
  lines.push("", r.body);
  return lines.join(CRLF);
}

let counter = 0;

/** The multipart/mixed answer of a batch: its Content-Type (with a fresh boundary) and body. */
export function writeBatchAnswer(results: readonly BatchResult[]): { contentType: string; body: string } {
  const outer = `batchresponse_${process.pid}_${++counter}`;
  const chunks = results.map((r) => {
    if (r.kind === "request") return responsePart(r.response, undefined);
    if (r.kind === "failed-changeset") return responsePart(r.response, r.contentId);
    const cs = `changesetresponse_${process.pid}_${++counter}`;
    return [
      `Content-Type: multipart/mixed; boundary=${cs}`,
      "",
      ...r.responses.map((p) => `--${cs}${CRLF}${responsePart(p.response, p.contentId)}`),
      `--${cs}--`,
      "",
    ].join(CRLF);
  });
  return {
    contentType: `multipart/mixed; boundary=${outer}`,
    body: `${chunks.map((c) => `--${outer}${CRLF}${c}`).join(CRLF)}${CRLF}--${outer}--${CRLF}`,
  };
}
