/**
 * The Business Central emulator's OData JSON `$batch`, driven over plain HTTP: each operation runs through
 * the same handlers as a single call (checked against the digest, refusals recorded), more than 100
 * operations and malformed batches are refused with a 400 naming the problem, an atomicity group and
 * `Isolation: snapshot` are all or nothing, `dependsOn` a failed operation is not run, each operation
 * counts toward the per-minute budget, and a dropped answer leaves the batch applied.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BC_MAX_BATCH_OPERATIONS, type BcEmulator, startBcEmulator } from "./server.ts";

interface Answer {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: Record<string, unknown>;
}

async function tokenFor(e: BcEmulator): Promise<string> {
  const res = await fetch(e.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: e.clientId,
      client_secret: e.clientSecret,
      scope: "https://api.businesscentral.dynamics.com/.default",
    }).toString(),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe("the Business Central emulator's $batch", () => {
  let emu: BcEmulator;
  let token = "";
  before(async () => {
    emu = await startBcEmulator({ items: 6, customers: 3 });
    token = await tokenFor(emu);
  });
  after(() => emu.close());

  const company = () => `companies(${emu.companyId})`;
  async function post(body: unknown, headers: Record<string, string> = {}, on = emu, bearer = token) {
    const res = await fetch(`${on.apiUrl}/api/v2.0/$batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      json: (text ? JSON.parse(text) : null) as {
        responses?: Answer[];
        error?: { code: string; message: string };
      },
    };
  }
  async function violationsOf(fn: () => Promise<unknown>): Promise<string[]> {
    const n = emu.violations.length;
    await fn();
    return emu.violations.splice(n);
  }
  const customer = (name: string, extra: Record<string, unknown> = {}) => ({
    displayName: name,
    email: `${name.toLowerCase().replace(/\W/g, "")}@example.com`,
    ...extra,
  });
  const byName = (name: string) => [...emu.data.customers.values()].filter((c) => c.displayName === name);

  test("each operation is answered as the same request alone would be, in order, with its id", async () => {
    const item = [...emu.data.items.values()][0] as { id: string; number: string };
    const single = await fetch(`${emu.apiUrl}/api/v2.0/${company()}/items(${item.id})?$select=id,number`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const alone = (await single.json()) as Record<string, unknown>;
    const before = emu.checked.get("GET items(id)") ?? 0;
    const r = await post({
      requests: [
        { id: "a", method: "GET", url: `${company()}/items(${item.id})?$select=id,number` },
        { id: "b", method: "GET", url: `${company()}/items?$filter=number eq '${item.number}'&$top=1` },
        { id: "c", method: "GET", url: `${company()}/items(00000000-0000-4000-8000-000000000000)` },
      ],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json.responses?.map((x) => [x.id, x.status]),
      [
        ["a", 200],
        ["b", 200],
        ["c", 404],
      ],
    );
    assert.deepEqual(r.json.responses?.[0]?.body, alone);
    assert.equal((r.json.responses?.[1]?.body?.value as unknown[] | undefined)?.length, 1);
    assert.equal(emu.checked.get("GET items(id)"), before + 2, "each inner operation is checked as a call");
  });

  test("an operation the digest refuses is answered 400 on its own and recorded; the others run", async () => {
    let r: Awaited<ReturnType<typeof post>> | undefined;
    const v = await violationsOf(async () => {
      r = await post({
        requests: [
          { id: "1", method: "POST", url: `${company()}/customers`, body: customer("Batch One") },
          {
            id: "2",
            method: "POST",
            url: `${company()}/customers`,
            body: { displayName: "X", shoeSize: 42 },
          },
        ],
      });
    });
    assert.deepEqual(
      r?.json.responses?.map((x) => x.status),
      [201, 400],
    );
    assert.match(
      String(r?.json.responses?.[1]?.body?.error && JSON.stringify(r?.json.responses?.[1]?.body)),
      /shoeSize/,
    );
    assert.equal(v.length, 1, v.join("\n"));
    assert.match(v[0] ?? "", /shoeSize/);
    assert.equal(byName("Batch One").length, 1, "without an atomicity group, the first create stands");
  });

  test("more than 100 operations are refused in Business Central's error shape, none run", async () => {
    const requests = Array.from({ length: BC_MAX_BATCH_OPERATIONS + 1 }, (_, i) => ({
      id: `op${i}`,
      method: "POST",
      url: `${company()}/customers`,
      body: customer(`Too Many ${i}`),
    }));
    let r: Awaited<ReturnType<typeof post>> | undefined;
    const v = await violationsOf(async () => {
      r = await post({ requests });
    });
    assert.equal(r?.status, 400);
    assert.equal(r?.json.error?.code, "BadRequest");
    assert.match(r?.json.error?.message ?? "", /101 operations.*at most 100/);
    assert.equal(v.length, 1);
    assert.equal(byName("Too Many 0").length, 0);
    const ok = await post({
      requests: requests
        .slice(0, BC_MAX_BATCH_OPERATIONS)
        .map((x) => ({ ...x, method: "GET", url: `${company()}/items?$top=1`, body: undefined })),
    });
    assert.equal(ok.status, 200, "exactly 100 are served");
  });

  test("a malformed batch is refused with a 400 naming the problem", async () => {
    const cases: [unknown, RegExp][] = [
      ["{not json", /not JSON/],
      [{ operations: [] }, /no "requests" array/],
      [
        {
          requests: [
            { id: "a", method: "GET", url: "items" },
            { id: "a", method: "GET", url: "items" },
          ],
        },
        /id "a" is not unique/,
      ],
      [{ requests: [{ id: "a", method: "PUT", url: "items" }] }, /method "PUT"/],
      [{ requests: [{ id: "a", method: "GET" }] }, /requests\[0\]\.url/],
      [{ requests: [{ id: "a", method: "GET", url: "items", dependsOn: ["z"] }] }, /dependsOn names "z"/],
      [
        {
          requests: [
            { id: "a", method: "GET", url: "items", atomicityGroup: "g" },
            { id: "b", method: "GET", url: "items" },
            { id: "c", method: "GET", url: "items", atomicityGroup: "g" },
          ],
        },
        /atomicity group "g" are not adjacent/,
      ],
    ];
    for (const [body, problem] of cases) {
      let r: Awaited<ReturnType<typeof post>> | undefined;
      const v = await violationsOf(async () => {
        r = await post(body);
      });
      assert.equal(r?.status, 400, JSON.stringify(body));
      assert.match(r?.json.error?.message ?? "", problem);
      assert.ok(v.length > 0);
    }
    const multipart = await violationsOf(async () => {
      const r = await post("--batch_x--", { "content-type": "multipart/mixed; boundary=batch_x" });
      assert.equal(r.status, 400);
      assert.match(r.json.error?.message ?? "", /JSON batches/);
    });
    assert.equal(multipart.length, 1);
  });

  test("an atomicity group is all or nothing: one failed operation undoes the group, not the rest", async () => {
    let r: Awaited<ReturnType<typeof post>> | undefined;
    await violationsOf(async () => {
      r = await post({
        requests: [
          { id: "outside", method: "POST", url: `${company()}/customers`, body: customer("Group Outside") },
          {
            id: "g1",
            method: "POST",
            url: `${company()}/customers`,
            body: customer("Group First"),
            atomicityGroup: "g",
          },
          { id: "g2", method: "POST", url: `${company()}/customers`, body: { nope: 1 }, atomicityGroup: "g" },
          { id: "after", method: "GET", url: `${company()}/items?$top=1`, dependsOn: ["g"] },
        ],
      });
    });
    assert.deepEqual(
      r?.json.responses?.map((x) => [x.id, x.status]),
      [
        ["outside", 201],
        ["g1", 424],
        ["g2", 400],
        ["after", 424],
      ],
    );
    assert.equal(byName("Group Outside").length, 1);
    assert.equal(byName("Group First").length, 0, "the group's first create was undone");
  });

  test("Isolation: snapshot makes the whole batch one transaction; each operation keeps its answer", async () => {
    const id = [...emu.data.customers.keys()][0] as string;
    const phone = emu.data.customers.get(id)?.phoneNumber;
    let r: Awaited<ReturnType<typeof post>> | undefined;
    await violationsOf(async () => {
      r = await post(
        {
          requests: [
            { id: "1", method: "POST", url: `${company()}/customers`, body: customer("Snapshot One") },
            {
              id: "2",
              method: "PATCH",
              url: `${company()}/customers(${id})`,
              headers: { "If-Match": "*" },
              body: { phoneNumber: "+33 9 99 99 99 99" },
            },
            { id: "3", method: "POST", url: `${company()}/customers`, body: { displayName: 7 } },
          ],
        },
        { isolation: "snapshot" },
      );
    });
    assert.deepEqual(
      r?.json.responses?.map((x) => x.status),
      [201, 200, 400],
    );
    assert.equal(byName("Snapshot One").length, 0);
    assert.equal(emu.data.customers.get(id)?.phoneNumber, phone);
  });

  test("each operation of a batch counts toward the per-minute budget; the batch is refused whole beyond it", async () => {
    const tight = await startBcEmulator({ items: 2, customers: 1, requestsPerMinute: 10 });
    try {
      const t = await tokenFor(tight);
      const get = (n: number) => ({
        requests: Array.from({ length: n }, (_, i) => ({
          id: `r${i}`,
          method: "GET",
          url: `companies(${tight.companyId})/items?$top=1`,
        })),
      });
      assert.equal((await post(get(8), {}, tight, t)).status, 200);
      const one = await fetch(`${tight.apiUrl}/api/v2.0/companies(${tight.companyId})/items?$top=1`, {
        headers: { authorization: `Bearer ${t}` },
      });
      assert.equal(one.status, 200, "8 operations and 1 call: 9 of 10");
      const over = await post(get(2), {}, tight, t);
      assert.equal(over.status, 429);
      assert.equal(over.json.error?.code, "Application_TooManyRequests");
      assert.ok(Number(over.headers.get("retry-after")) >= 1);
      assert.equal(tight.stats.batches, 1, "the refused batch ran nothing");
    } finally {
      await tight.close();
    }
  });

  test("a dropped answer leaves the batch applied: the client never learns it", async () => {
    const e = await startBcEmulator({ items: 2, customers: 1 });
    try {
      const t = await tokenFor(e);
      e.faults.configure({ rates: { drop: 1 } });
      const err = await post(
        {
          requests: [
            {
              id: "1",
              method: "POST",
              url: `companies(${e.companyId})/customers`,
              body: customer("Dropped"),
            },
          ],
        },
        {},
        e,
        t,
      ).catch((x: unknown) => x);
      assert.ok(err instanceof Error, "the answer was not lost");
      e.faults.configure({});
      assert.equal([...e.data.customers.values()].filter((c) => c.displayName === "Dropped").length, 1);
    } finally {
      await e.close();
    }
  });
});
