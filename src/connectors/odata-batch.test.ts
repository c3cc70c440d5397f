/**
 * The OData `$batch` codec: the request it builds (reads outside change sets, each write in a change set of
 * its own with its Content-ID, CRLF line ends, the version's headers, whether it may be re-sent) and the
 * answers it reads back — an answer shaped as the OData documents' own example (MS-ODATA §2.2.7.6.8, the
 * V2 batch answer SAP Gateway writes: 202, a read, a change set whose answers carry their Content-IDs), a
 * V4 answer (200, HTTP/1.1 status lines, a failed change set answered by one part), a batch the service
 * stopped early, and answers that cannot be read.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BatchFormatError,
  type BatchRequest,
  boundaryOf,
  buildBatch,
  parseBatchAnswer,
} from "./odata-batch.ts";

const seq = () => {
  let n = 0;
  return () => ((n++ * 7) % 36) / 36;
};

const reqs: BatchRequest[] = [
  { method: "GET", url: "/b1s/v2/Orders?$filter=NumAtCard%20eq%20'a'&$top=1" },
  { method: "POST", url: "/b1s/v2/Orders", body: { CardCode: "C1", NumAtCard: "a" } },
  { method: "PATCH", url: "/b1s/v2/Orders(7)", body: { Confirmed: "tYES" } },
];

describe("building a $batch", () => {
  test("reads go outside change sets, each write in a change set of its own with its Content-ID", () => {
    const b = buildBatch(reqs, "v4", seq());
    const outer = boundaryOf(b.contentType) as string;
    assert.match(outer, /^batch_[a-z0-9]{24}$/);
    assert.equal(b.retrySafe, false);
    assert.deepEqual(b.headers, { "odata-version": "4.0", "odata-maxversion": "4.0" });
    // Every line ends CRLF, as MIME wants; no bare LF.
    assert.equal(/(?<!\r)\n/.test(b.body), false);
    const top = b.body.split(`--${outer}`);
    assert.equal(top[0], "", "no preamble");
    assert.equal(top.at(-1), "--\r\n", "closed by the outer delimiter");
    const [read, create, patch] = top.slice(1, -1) as [string, string, string];
    assert.match(
      read,
      /^\r\nContent-Type: application\/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET \/b1s\/v2\/Orders\?\$filter=NumAtCard%20eq%20'a'&\$top=1 HTTP\/1\.1\r\naccept: application\/json\r\n\r\n\r\n$/,
    );
    const cs = /^\r\nContent-Type: multipart\/mixed; boundary=(changeset_[a-z0-9]{24})\r\n/.exec(create)?.[1];
    assert.ok(cs, create);
    assert.ok(
      create.includes(
        `--${cs}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\nPOST /b1s/v2/Orders HTTP/1.1\r\naccept: application/json\r\ncontent-type: application/json\r\n\r\n{"CardCode":"C1","NumAtCard":"a"}\r\n--${cs}--\r\n`,
      ),
      create,
    );
    assert.match(patch, /Content-ID: 3\r\n\r\nPATCH \/b1s\/v2\/Orders\(7\) HTTP\/1\.1\r\n/);
    assert.notEqual(/boundary=(\S+)/.exec(patch)?.[1], cs, "each change set its own boundary");
  });

  test("a batch of reads only may be re-sent; OData V2 gets its own version headers", () => {
    const b = buildBatch([reqs[0] as BatchRequest], "v2");
    assert.equal(b.retrySafe, true);
    assert.deepEqual(b.headers, { dataserviceversion: "2.0", maxdataserviceversion: "2.0" });
    assert.throws(() => buildBatch([], "v4"), RangeError);
  });

  test("a quoted boundary is read; a Content-Type that is not multipart/mixed has none", () => {
    assert.equal(boundaryOf('multipart/mixed; boundary="batch_1 2"'), "batch_1 2");
    assert.equal(boundaryOf("multipart/mixed;boundary=b1;charset=utf-8"), "b1");
    assert.equal(boundaryOf("application/json"), null);
  });
});

describe("reading a $batch answer", () => {
  test("the OData documents' example shape (V2, SAP Gateway): a read, then a change set's answers by Content-ID", () => {
    // As MS-ODATA §2.2.7.6.8 writes it: LF line ends are tolerated, a change set's answers may be reordered.
    const body = [
      "--batch(36522ad7)",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "",
      "HTTP/1.1 200 OK",
      "Content-Type: application/json",
      "",
      '{"d":{"results":[]}}',
      "--batch(36522ad7)",
      "Content-Type: multipart/mixed; boundary=changeset(77162fcd)",
      "",
      "--changeset(77162fcd)",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "Content-ID: 3",
      "",
      "HTTP/1.1 204 No Content",
      "",
      "",
      "--changeset(77162fcd)",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "Content-ID: 2",
      "",
      "HTTP/1.1 201 Created",
      "Content-Type: application/json",
      "Location: http://host/service.svc/Orders(200)",
      "",
      '{"d":{"DocEntry":200}}',
      "--changeset(77162fcd)--",
      "--batch(36522ad7)--",
      "",
    ].join("\n");
    // Two change sets in ours: the example's single one carries both writes.
    const answers = parseBatchAnswer("multipart/mixed; boundary=batch(36522ad7)", body, reqs);
    assert.equal(answers[0]?.status, 200);
    assert.equal(answers[0]?.body, '{"d":{"results":[]}}');
    assert.equal(answers[1]?.status, 201);
    assert.equal(answers[1]?.headers.location, "http://host/service.svc/Orders(200)");
    assert.deepEqual(JSON.parse(answers[1]?.body ?? ""), { d: { DocEntry: 200 } });
    assert.equal(answers[2]?.status, 204);
    assert.equal(answers[2]?.body, "");
  });

  test("V4: a failed change set is one part, the failed request's answer; a batch stopped early leaves the rest unanswered", () => {
    const body = [
      "--b",
      "Content-Type: application/http",
      "",
      "HTTP/1.1 200 OK",
      "content-type: application/json",
      "",
      '{"value":[]}',
      "--b",
      "Content-Type: application/http",
      "Content-ID: 2",
      "",
      "HTTP/1.1 400 Bad Request",
      "content-type: application/json",
      "",
      '{"error":{"code":"-10","message":"Invalid item"}}',
      "--b--",
    ].join("\r\n");
    const answers = parseBatchAnswer("multipart/mixed;boundary=b", body, reqs);
    assert.equal(answers[0]?.status, 200);
    assert.equal(answers[1]?.status, 400);
    assert.match(answers[1]?.body ?? "", /Invalid item/);
    assert.equal(answers[2], undefined, "never run: may be sent again");
  });

  test("an answer part with no headers: the blank line comes straight after the status line", () => {
    const body =
      '--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n{"error":{"code":"-2028"}}\r\n--b--\r\n';
    const [a] = parseBatchAnswer("multipart/mixed; boundary=b", body, [reqs[0] as BatchRequest]);
    assert.deepEqual(a, { status: 404, headers: {}, body: '{"error":{"code":"-2028"}}' });
  });

  test("an answer that cannot be read is a BatchFormatError", () => {
    assert.throws(() => parseBatchAnswer("application/json", "{}", reqs), BatchFormatError);
    assert.throws(
      () =>
        parseBatchAnswer(
          "multipart/mixed; boundary=b",
          "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
          reqs,
        ),
      /no closing delimiter --b--/,
    );
    assert.throws(
      () =>
        parseBatchAnswer(
          "multipart/mixed; boundary=b",
          "--b\r\nContent-Type: application/http\r\n\r\nnonsense\r\n--b--",
          reqs,
        ),
      /no HTTP status line/,
    );
    const four = Array.from(
      { length: 4 },
      () => "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    ).join("\r\n");
    assert.throws(
      () => parseBatchAnswer("multipart/mixed; boundary=b", `${four}\r\n--b--`, reqs),
      /4 parts for 3 requests/,
    );
  });
});
