/**
 * A real SMTP server for tests (the `smtp-server` package) on a loopback port: STARTTLS with the package's
 * own self-signed certificate, or implicit TLS, and AUTH PLAIN/LOGIN checked against one user. Every message
 * accepted is kept whole, with its headers and its decoded text body.
 */
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  /** The text body, quoted-printable decoded. */
  text: string;
  raw: string;
  /** Whether the session had been upgraded to TLS when the message came. */
  secure: boolean;
  user: string | undefined;
}

export interface TestSmtp {
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(soft[i] ?? ""));
  }
  return Buffer.from(bytes).toString("utf8");
}

function parse(raw: string): { subject: string; text: string } {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(head)?.[1]?.trim() ?? "";
  const encoding = header("Content-Transfer-Encoding").toLowerCase();
  const text =
    encoding === "quoted-printable"
      ? decodeQuotedPrintable(body)
      : encoding === "base64"
        ? Buffer.from(body, "base64").toString("utf8")
        : body;
  return { subject: header("Subject"), text: text.replace(/\r\n/g, "\n") };
}

export async function startSmtp(opts: {
  user: string;
  password: string;
  /** Implicit TLS from the first byte (SMTPS) instead of STARTTLS. */
  secure?: boolean;
  /** A server that does not offer STARTTLS (and so, with allowInsecureAuth false, refuses AUTH). */
  noStartTls?: boolean;
}): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    secure: opts.secure ?? false,
    // Not merely hidden from EHLO: a client that tries STARTTLS anyway is refused too.
    ...(opts.noStartTls ? { disabledCommands: ["STARTTLS"] } : {}),
    // Without a key and certificate of ours, the package uses its bundled self-signed pair.
    authMethods: ["PLAIN", "LOGIN"],
    // Refuses AUTH before STARTTLS (the default), so a client that did not upgrade cannot send.
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, done) {
      if (auth.username === opts.user && auth.password === opts.password) done(null, { user: auth.username });
      else done(new Error("Invalid username or password"));
    },
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          ...parse(raw),
          raw,
          secure: session.secure,
          user: typeof session.user === "string" ? session.user : undefined,
        });
        done();
      });
    },
  });
  const port = await new Promise<number>((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.server.address();
      if (address === null || typeof address === "string") fail(new Error("no TCP port was bound"));
      else done(address.port);
    });
  });
  return {
    port,
    mails,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
