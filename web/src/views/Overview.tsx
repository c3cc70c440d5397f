/** Every flow with its health, lag and open failures, and throughput and failures over the last 24 hours. */
import { api, type FlowInfo, type Run } from "../api.ts";
import { BarChart } from "../charts.tsx";
import { Badge, duration, href, Show, useApi, when } from "../ui.tsx";

const HOURS = 24;

/** Records written and failed per hour over the last 24 hours, from the runs that ended in each hour. */
export function buckets(runs: Run[], now = new Date()) {
  const hour = 3600_000;
  const end = Math.ceil(now.getTime() / hour) * hour;
  const labels: string[] = [];
  const written = new Array<number>(HOURS).fill(0);
  const failed = new Array<number>(HOURS).fill(0);
  for (let i = 0; i < HOURS; i++) {
    const t = new Date(end - (HOURS - i) * hour);
    labels.push(`${String(t.getHours()).padStart(2, "0")}h`);
  }
  for (const r of runs) {
    if (r.mode === "plan") continue;
    const at = new Date(r.finishedAt ?? r.startedAt).getTime();
    const i = HOURS - Math.ceil((end - at) / hour);
    if (i < 0 || i >= HOURS) continue;
    written[i] = (written[i] ?? 0) + r.counts.created + r.counts.updated;
    failed[i] = (failed[i] ?? 0) + r.counts.failed;
  }
  return { labels, written, failed };
}

export function Overview() {
  const flows = useApi(() => api<{ flows: FlowInfo[] }>("GET", "flows"), [], 10_000);
  const runs = useApi(() => api<{ runs: Run[] }>("GET", "runs?limit=500"), [], 10_000);
  return (
    <section>
      <h2>Flows</h2>
      <Show r={flows}>
        {({ flows: rows }) => (
          <table data-testid="flows">
            <thead>
              <tr>
                <th>flow</th>
                <th>from → to</th>
                <th>state</th>
                <th>last run</th>
                <th>next run</th>
                <th>lag</th>
                <th>open failures</th>
                <th>API calls today</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((f) => (
                <tr key={f.name}>
                  <td>
                    <a href={href("runs", f.name)}>{f.name}</a>
                  </td>
                  <td>
                    {f.source ? `${f.source.connection}.${f.source.entity}` : ""} →{" "}
                    {f.target ? `${f.target.connection}.${f.target.entity}` : ""}
                  </td>
                  <td>
                    <Badge kind={f.state} />
                    {f.runningBy ? <span className="muted"> by {f.runningBy}</span> : null}
                  </td>
                  <td>
                    {f.lastRun ? (
                      <a href={href("run", f.lastRun.id)}>
                        <Badge kind={f.lastRun.status} /> {when(f.lastRun.finishedAt ?? f.lastRun.startedAt)}
                      </a>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>{when(f.nextRun)}</td>
                  <td>{duration(f.lagSeconds)}</td>
                  <td>
                    {f.openFailures > 0 ? (
                      <a href={`${href("failures")}?flow=${encodeURIComponent(f.name)}`} className="warn">
                        {f.openFailures}
                      </a>
                    ) : (
                      0
                    )}
                  </td>
                  <td>{f.callsToday ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <h2>Last 24 hours</h2>
      <Show r={runs}>
        {({ runs: list }) => {
          const b = buckets(list);
          return (
            <div className="charts">
              <BarChart
                title="Records written per hour"
                labels={b.labels}
                series={[{ name: "written", color: "#2f7d4f", values: b.written }]}
              />
              <BarChart
                title="Records failed per hour"
                labels={b.labels}
                series={[{ name: "failed", color: "#b3261e", values: b.failed }]}
              />
            </div>
          );
        }}
      </Show>
    </section>
  );
}
