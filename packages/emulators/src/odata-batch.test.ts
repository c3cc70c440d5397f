/**
 * The emulators' `$batch` reader and writer: a batch request as SAP Cloud SDK's serializer writes it
 * (odata-common's batch-request-serializer: LF joined, then every LF turned CRLF; title-cased headers;
 * `Content-Id` on writes only; sub-request URLs from the service root) is read into its reads and change
 * sets; what breaks the OData rules is refused naming the part; the answer is written as OData wants it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BatchRequestError, parseBatchRequest, writeBatchAnswer } from "./odata-batch.ts";

const sdkBody = [
  "--batch_0b1c",
  "Content-Type: application/http",
  "Content-Transfer-Encoding: binary",
  "",
  "GET /Items?$select=ItemCode&$top=2 HTTP/1.1",
  "Content-Type: application/json",
  "Accept: application/json",
  "",
  "",
  "--batch_0b1c",
  "Content-Type: multipart/mixed; boundary=changeset_9f2e",
  "",
  "--changeset_9f2e",
  "Content-Type: application/http",
  "Content-Transfer-Encoding: binary",
  "Content-Id: 5b1e-1",
  "",
  "POST /BusinessPartners HTTP/1.1",
  "Content-Type: application/json",
  "Accept: application/json",
  "",
  '{"CardCode":"SDK-1"}',
  "",
  "--changeset_9f2e",
  "Content-Type: application/http",
  "Content-Transfer-Encoding: binary",
  "Content-Id: 5b1e-2",
  "",
  "PATCH /BusinessPartners('SDK-1') HTTP/1.1",
  "Content-Type: application/json",
  "",
  '{"CardName":"x"}',
  "",
  "--changeset_9f2e--",
  "--batch_0b1c--",
  "",
]
  .join("\n")
  .replace(/\n/g, "\r\n");

describe("reading a $batch request", () => {
  test("a body as SAP Cloud SDK serializes it: a read, then a change set of two writes", () => {
    const items = parseBatchRequest("multipart/mixed; boundary=batch_0b1c", sdkBody, "v4");
    assert.equal(items.length, 2);
    const [read, cs] = items;
    assert.ok(read?.kind === "request");
    assert.equal(read.request.method, "GET");
    assert.equal(read.request.url, "/Items?$select=ItemCode&$top=2");
    assert.equal(read.request.headers.accept, "application/json");
    assert.equal(read.request.contentId, undefined);
    assert.ok(cs?.kind === "changeset");
    assert.deepEqual(
      cs.requests.map((r) => [r.contentId, r.method, r.url, r.body.trim()]),
      [
        ["5b1e-1", "POST", "/BusinessPartners", '{"CardCode":"SDK-1"}'],
        ["5b1e-2", "PATCH", "/BusinessPartners('SDK-1')", '{"CardName":"x"}'],
      ],
    );
  });

  test("what breaks the rules is refused naming the part", () => {
    const refuse = (type: string | undefined, body: string, re: RegExp, version: "v2" | "v4" = "v4") =>
      assert.throws(
        () => parseBatchRequest(type, body, version),
        (e: unknown) => {
          assert.ok(e instanceof BatchRequestError);
          assert.match(e.message, re);
          return true;
        },
      );
    refuse("application/json", "{}", /must be Content-Type multipart\/mixed with a boundary/);
    refuse("multipart/mixed; boundary=x", sdkBody, /no delimiter --x/);
    refuse(
      "multipart/mixed; boundary=batch_0b1c",
      sdkBody.replace("--batch_0b1c--", ""),
      /no closing delimiter --batch_0b1c--/,
    );
    refuse(
      "multipart/mixed; boundary=batch_0b1c",
      sdkBody.replace("Content-Type: application/http", "Content-Type: text/plain"),
      /batch part 1: Content-Type must be application\/http, got "text\/plain"/,
    );
    refuse(
      "multipart/mixed; boundary=batch_0b1c",
      sdkBody.replace("POST /BusinessPartners HTTP/1.1", "GET /BusinessPartners HTTP/1.1"),
      /batch part 2, change set request 1: a change set may not hold a GET/,
    );
    refuse(
      "multipart/mixed; boundary=batch_0b1c",
      sdkBody.replace("Content-Id: 5b1e-1\r\n", ""),
      /change set request 1: every request of a change set needs a Content-ID \(OData v4\)/,
    );
    // OData V2 does not require it.
    assert.equal(
      parseBatchRequest(
        "multipart/mixed; boundary=batch_0b1c",
        sdkBody.replace("Content-Id: 5b1e-1\r\n", ""),
        "v2",
      ).length,
      2,
    );
    refuse(
      "multipart/mixed; boundary=batch_0b1c",
      sdkBody.replace("Content-Id: 5b1e-2", "Content-Id: 5b1e-1"),
      /Content-ID 5b1e-1 is used twice/,
    );
    refuse(
      "multipart/mixed; boundary=batch_0b1c",
      sdkBody.replace("GET /Items?$select=ItemCode&$top=2 HTTP/1.1", "GET /Items"),
      /batch part 1: the request line must be "<METHOD> <URL> HTTP\/1.1", got "GET \/Items"/,
    );
  });
});

describe("writing a $batch answer", () => {
  test("a read, a change set's answers with their Content-IDs, a failed change set's one answer", () => {
    const out = writeBatchAnswer([
      {
        kind: "request",
        response: { status: 200, headers: { "content-type": "application/json" }, body: "{}" },
      },
      {
        kind: "changeset",
        responses: [{ contentId: "1", response: { status: 201, headers: {}, body: '{"a":1}' } }],
      },
      {
        kind: "failed-changeset",
        contentId: "2",
        response: { status: 400, headers: {}, body: '{"error":{}}' },
      },
    ]);
    const b = /boundary=(\S+)/.exec(out.contentType)?.[1] as string;
    assert.ok(b);
    assert.equal(/(?<!\r)\n/.test(out.body), false, "CRLF only");
    const parts = out.body.split(`--${b}`);
    assert.equal(parts.length, 5);
    assert.match(
      parts[1] as string,
      /Content-Type: application\/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP\/1\.1 200 OK\r\ncontent-type: application\/json\r\n\r\n\{\}\r\n$/,
    );
    assert.match(
      parts[2] as string,
      /Content-ID: 1\r\n\r\nHTTP\/1\.1 201 Created\r\n\r\n\{"a":1\}\r\n--changesetresponse_\S+--/,
    );
    assert.match(parts[3] as string, /Content-ID: 2\r\n\r\nHTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(parts[4], "--\r\n");
  });
});
