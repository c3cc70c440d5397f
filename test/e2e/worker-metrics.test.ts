/**
 * Metrics of a scaled-out deployment through the real CLI: `passerelle run --role worker` and
 * `--role scheduler` (and `passerelle worker`) serve their own /metrics when given --metrics-port, behind
 * the API's bearer-token gate. A scheduled products sync fired by the scheduler and run by the worker shows
 * up in the worker's counters (records, runs, API calls), which no other process could report. Once on
 * SQLite (the embedded queue), once on PostgreSQL (pg-boss). Bad ports are refused before anything starts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../helpers/postgres.ts";
import { explain, json, startWorld, type World, waitFor } from "./helpers.ts";
import { type LongRunning, startCli } from "./long-running.ts";

/** The products flow on a cron tick every second, so a scheduler alone keeps the worker busy. */
function scheduledConfig(
  world: World,
  name = "scheduled.yaml",
  edit?: Parameters<World["writeConfig"]>[1],
): string {
  return world.writeConfig(name, (doc) => {
    doc.setIn(["flows", "products", "trigger"], { type: "schedule", cron: "* * * * * *" });
    edit?.(doc);
  });
}

async function viewerToken(world: World, env: NodeJS.ProcessEnv): Promise<string> {
  const made = await world.cli(["tokens", "create", "--role", "viewer", "--name", "prometheus", "--json"], {
    env: { PASSERELLE_CONFIG: String(env.PASSERELLE_CONFIG) },
  });
  assert.equal(made.code, 0, explain(made));
  return (json(made) as { bearer: string }).bearer;
}

/** The metrics listener's address, from its startup line. */
async function metricsUrl(proc: LongRunning): Promise<string> {
  const m = await proc.waitFor("stderr", /Metrics on (http:\/\/127\.0\.0\.1:\d+) \(GET \/metrics/);
  return m[1] ?? "";
}

/** The value of one sample, or null when the scrape does not have it. */
function sample(text: string, name: string, labels: string): number | null {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/**
 * A worker and a scheduler, each with a metrics listener; the worker's /metrics must show the scheduled
 * products sync it ran. Returns the last scrape of the worker.
 */
async function scaledOut(world: World, env: NodeJS.ProcessEnv): Promise<string> {
  const token = await viewerToken(world, env);
  const auth = { authorization: `Bearer ${token}` };
  const worker = startCli(["run", "--role", "worker", "--metrics-port", "0"], env);
  const scheduler = startCli(
    ["run", "--role", "scheduler", "--metrics-port", "0", "--metrics-host", "127.0.0.1"],
    env,
  );
  let scraped = "";
  try {
    const workerUrl = await metricsUrl(worker);
    const schedulerUrl = await metricsUrl(scheduler);
    // Its own line on stderr, which may arrive in a later chunk than the URL's: waited for, not assumed.
    await worker.waitFor("stderr", /Metrics auth: every request to \/metrics needs a bearer token/);

    for (const [url, role] of [
      [workerUrl, "worker"],
      [schedulerUrl, "scheduler"],
    ] as const) {
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok", role });
      const anon = await fetch(`${url}/metrics`);
      assert.equal(anon.status, 401, `${role}: loopback needs a token without --no-auth-on-loopback`);
      assert.equal(anon.headers.get("www-authenticate"), 'Bearer realm="passerelle"');
      const wrong = await fetch(`${url}/metrics`, { headers: { authorization: "Bearer psr_not-a-token" } });
      assert.equal(wrong.status, 401);
      assert.equal(((await wrong.json()) as { error: string }).error, "unknown or revoked token");
    }

    scraped = await waitFor("the worker's /metrics to count the scheduled products sync", async () => {
      const res = await fetch(`${workerUrl}/metrics`, { headers: auth });
      assert.equal(res.status, 200);
      const text = await res.text();
      const created = sample(
        text,
        "passerelle_records_total",
        'flow="products",connection="shopify",outcome="created"',
      );
      return created !== null && created > 0 ? text : null;
    });
    assert.ok(
      (sample(scraped, "passerelle_records_total", 'flow="products",connection="odoo",outcome="read"') ?? 0) >
        0,
      scraped,
    );
    assert.ok(
      (sample(scraped, "passerelle_runs_total", 'flow="products",status="succeeded",kind="schedule"') ?? 0) >=
        1,
      scraped,
    );
    assert.ok((sample(scraped, "passerelle_api_calls", 'connection="odoo"') ?? 0) > 0, scraped);
    assert.ok((sample(scraped, "passerelle_api_calls", 'connection="shopify"') ?? 0) > 0, scraped);
    assert.match(scraped, /^passerelle_flow_last_run_timestamp_seconds\{flow="products"\} \d/m);
    assert.match(scraped, /^passerelle_flow_lag_seconds\{flow="products"\} \d/m);

    // The scheduler runs no job: its own counters have no pass, and it still reports the queue.
    const sched = await (await fetch(`${schedulerUrl}/metrics`, { headers: auth })).text();
    assert.equal(
      sample(sched, "passerelle_runs_total", 'flow="products",status="succeeded",kind="schedule"'),
      null,
    );
    assert.match(sched, /# TYPE passerelle_queue_depth gauge/);
  } finally {
    for (const p of [worker, scheduler]) {
      const res = await p.stop();
      assert.equal(res.code, 0, explain(res));
      assert.ok(!world.secrets.some((s) => res.stderr.includes(s) || res.stdout.includes(s)));
    }
  }
  return scraped;
}

describe("worker and scheduler metrics on SQLite", () => {
  let world: World;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    world = await startWorld({ products: 3 });
    env = { ...world.env, PASSERELLE_CONFIG: scheduledConfig(world), PASSERELLE_LOG_LEVEL: "warn" };
  });
  after(async () => {
    await world?.close();
  });

  test("run --role worker|scheduler --metrics-port: each serves its /metrics; the worker's counts the sync it ran", async () => {
    await scaledOut(world, env);
  });

  test("passerelle worker --metrics-port with --no-auth-on-loopback: loopback scrapes without a token", async () => {
    const worker = startCli(
      ["worker", "products", "--interval", "500", "--metrics-port", "0", "--no-auth-on-loopback"],
      env,
    );
    try {
      const url = await metricsUrl(worker);
      await worker.waitFor("stderr", /Metrics auth: requests from loopback need no token/);
      await waitFor("the worker's /metrics to count a products sync", async () => {
        const res = await fetch(`${url}/metrics`);
        assert.equal(res.status, 200);
        const text = await res.text();
        const runs = sample(
          text,
          "passerelle_runs_total",
          'flow="products",status="succeeded",kind="schedule"',
        );
        return runs !== null && runs >= 1;
      });
    } finally {
      const res = await worker.stop();
      assert.equal(res.code, 0, explain(res));
    }
  });

  test("server.metrics in the configuration: a port out of range is refused naming the field and the value", async () => {
    const bad = scheduledConfig(world, "bad-metrics-port.yaml", (doc) =>
      doc.setIn(["server", "metrics"], { port: 70000 }),
    );
    const res = await world.cli(["run", "--role", "worker"], { env: { PASSERELLE_CONFIG: bad } });
    assert.equal(res.code, 2, explain(res));
    assert.match(res.stderr, /server\.metrics\.port: .*\(got 70000\)/);
  });

  test("bad --metrics-port / --metrics-host use: usage errors, exit 2, nothing started", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["worker", "--metrics-port", "70000"],
        /--metrics-port must be a whole number from 0 to 65535, got "70000"/,
      ],
      [
        ["run", "--role", "worker", "--metrics-port", "x"],
        /--metrics-port must be a whole number from 0 to 65535, got "x"/,
      ],
      [
        ["run", "--metrics-port", "0"],
        /--metrics-port and --metrics-host are for --role worker or scheduler; role all serves \/metrics on its own server/,
      ],
      [["run", "--role", "worker", "--metrics-host", "0.0.0.0"], /--metrics-host "0\.0\.0\.0" needs a port/],
    ];
    for (const [args, message] of cases) {
      const res = await world.cli(args, { env: { PASSERELLE_CONFIG: String(env.PASSERELLE_CONFIG) } });
      assert.equal(res.code, 2, explain(res));
      assert.match(res.stderr, message);
    }
  });
});

const SCHEMA = `worker_metrics_${process.pid}_${Date.now().toString(36)}`;

await onPostgres("worker and scheduler metrics on PostgreSQL (pg-boss)", () => {
  describe("worker and scheduler metrics on PostgreSQL (pg-boss)", () => {
    let world: World;
    let env: NodeJS.ProcessEnv;

    before(async () => {
      const url = new URL(TEST_PG_URL);
      url.searchParams.set("schema", SCHEMA);
      world = await startWorld({ products: 3, storeUrl: url.toString() });
      env = { ...world.env, PASSERELLE_CONFIG: scheduledConfig(world), PASSERELLE_LOG_LEVEL: "warn" };
    });
    after(async () => {
      await world?.close();
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        for (const s of [SCHEMA, `${SCHEMA}_pgboss`])
          await client.query(`drop schema if exists "${s}" cascade`);
      } finally {
        await client.end();
      }
    });

    test("run --role worker|scheduler --metrics-port: the worker's /metrics counts the sync pg-boss gave it", async () => {
      await scaledOut(world, env);
    });
  });
});
