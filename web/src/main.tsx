/**
 * The Passerelle dashboard: a single page served by `passerelle run` at `/`, reading and acting through
 * /api/v1 only. Views live in the URL's hash (#/failures, #/trace/order/%231001), so every view can be
 * linked to and the server serves one page. A token is asked for when the API answers 401 (always off
 * loopback; on loopback too unless the server runs with --no-auth-on-loopback).
 */
import { Component, type ReactNode, StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { getToken, setToken } from "./api.ts";
import "./style.css";
import { ErrorBox } from "./ui.tsx";
import { Connections } from "./views/Connections.tsx";
import { Failures, FailureView } from "./views/Failures.tsx";
import { Overview } from "./views/Overview.tsx";
import { Preview } from "./views/Preview.tsx";
import { Runs, RunView } from "./views/Runs.tsx";
import { TraceView } from "./views/Trace.tsx";

interface Route {
  parts: string[];
  query: URLSearchParams;
}

function parseHash(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?");
  return {
    parts: path.split("/").filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(query),
  };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

function View({ route }: { route: Route }) {
  const [name, a, b] = route.parts;
  const q = (k: string) => route.query.get(k) ?? undefined;
  switch (name ?? "") {
    case "":
    case "overview":
      return <Overview />;
    case "runs":
      return <Runs {...(a ? { flow: a } : {})} />;
    case "run":
      return <RunView id={a ?? ""} />;
    case "failures": {
      const flow = q("flow");
      const status = q("status");
      return <Failures {...(flow ? { flow } : {})} {...(status ? { status } : {})} />;
    }
    case "failure":
      return <FailureView id={a ?? ""} />;
    case "trace":
      return <TraceView {...(a ? { entity: a } : {})} {...(b ? { ref: b } : {})} />;
    case "preview":
      return <Preview {...(a ? { flow: a } : {})} />;
    case "connections":
      return <Connections />;
    default:
      return <ErrorBox error={`no view "${route.parts.join("/")}"; pick one above`} />;
  }
}

/** A view that throws while rendering shows what went wrong instead of a blank page. */
class Boundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }
  override render() {
    return this.state.error ? (
      <ErrorBox error={`this view failed to show: ${this.state.error.message}`} />
    ) : (
      this.props.children
    );
  }
}

function TokenBar() {
  const [has, setHas] = useState(getToken() !== null);
  const [value, setValue] = useState("");
  return has ? (
    <span className="token">
      token set{" "}
      <button
        type="button"
        onClick={() => {
          setToken(null);
          setHas(false);
          window.location.reload();
        }}
      >
        forget
      </button>
    </span>
  ) : (
    <form
      className="token"
      onSubmit={(e) => {
        e.preventDefault();
        if (!value.trim()) return;
        setToken(value.trim());
        setHas(true);
        window.location.reload();
      }}
    >
      <input
        type="password"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="API token (psr_…)"
        aria-label="API token"
        autoComplete="off"
      />
      <button type="submit">Use token</button>
    </form>
  );
}

const NAV: [string, string][] = [
  ["overview", "Overview"],
  ["runs", "Runs"],
  ["failures", "Failed records"],
  ["trace", "Record lineage"],
  ["preview", "Mapping preview"],
  ["connections", "Connections"],
];

function App() {
  const route = useRoute();
  const current = route.parts[0] || "overview";
  return (
    <>
      <header>
        <h1>Passerelle</h1>
        <nav>
          {NAV.map(([path, label]) => (
            <a
              key={path}
              href={`#/${path}`}
              className={current === path || (current === "failure" && path === "failures") ? "active" : ""}
            >
              {label}
            </a>
          ))}
        </nav>
        <TokenBar />
      </header>
      <main>
        <Boundary resetKey={window.location.hash}>
          <View route={route} />
        </Boundary>
      </main>
    </>
  );
}

const root = document.getElementById("root");
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
