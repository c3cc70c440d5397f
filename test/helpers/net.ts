/** Network helpers shared by tests. */
import { createServer } from "node:net";

/** A TCP port on which nothing listens (bound, then released), for "unreachable" cases. */
export function closedPort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? done(address.port)
          : fail(new Error("no TCP port was bound")),
      );
    });
  });
}
