/**
 * Connection settings for a file exchange: a folder on this machine, or the same folder on an SFTP
 * server, and per canonical entity the files that hold it (name pattern, format, encoding, delimiter,
 * decimal commas) and how a row becomes a canonical record (`fields`, the flow mapping's rule language).
 */
import { z } from "zod";
import { Mapping } from "../../core/mapping.ts";
import { entitySettings } from "../rows.ts";

export const FORMATS = ["csv", "jsonl", "xml"] as const;
export const ENCODINGS = ["utf-8", "iso-8859-1", "windows-1252"] as const;

const Sftp = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().min(1),
    /** Use ${env:X} or ${file:/path} in passerelle.yaml. */
    password: z.string().min(1).optional(),
    /** A private key in OpenSSH or PEM form; use ${file:/path/to/key}. */
    privateKey: z.string().min(1).optional(),
    /** Passphrase of an encrypted private key; use ${env:X}. */
    passphrase: z.string().min(1).optional(),
    /**
     * The server's host key fingerprint as `ssh-keygen -lf <key>.pub` prints it (SHA256:…): the connection is
     * refused when the server shows another key. Without it, any host key is accepted.
     */
    hostKey: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, {
        message:
          'must be the server key\'s SHA256 fingerprint as ssh-keygen -lf prints it ("SHA256:" and 43 characters)',
      })
      .optional(),
    /** Connection (and handshake) timeout. */
    timeoutMs: z.number().int().positive().default(20_000),
  })
  .superRefine((s, ctx) => {
    if (s.password === undefined && s.privateKey === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["password"],
        message: "credentials are missing: give password or privateKey",
      });
    }
  });

/** Where written files of an entity go and what their columns are. */
const WriteSettings = z.strictObject({
  /** Start of each written file's name; the rest is the batch's latest change and its content hash. */
  prefix: z.string().regex(/^[^/\\]*$/, { message: "must be a file name prefix, without / or \\" }),
  /**
   * Canonical record → output columns (or JSON / XML fields), in the flow mapping's rule language; the
   * file holds exactly the fields these rules set, in this order. Absent: the canonical record itself
   * (CSV: nested fields flattened to dotted column names, lists as JSON).
   */
  fields: Mapping.optional(),
  /** XML: the root element and the element of each record. */
  root: z.string().min(1).default("records"),
  element: z.string().min(1).default("record"),
});

export const EntityFiles = z
  .strictObject({
    /** Glob on file names (`*`, `?`, `[abc]`, `{a,b}`), e.g. `prices-*.csv`. */
    pattern: z.string().min(1),
    format: z.enum(FORMATS),
    encoding: z.enum(ENCODINGS).default("utf-8"),
    /** CSV: the field separator, one character. */
    delimiter: z.string().length(1, { message: "must be one character, such as ; or ," }).default(","),
    /** CSV: the first line names the columns. */
    header: z.boolean().default(true),
    /** CSV without a header: the column names, in order. */
    columns: z.array(z.string().min(1)).optional(),
    /** Numbers are written 1.234,56 (decimal comma, dot between thousands), as many ERP exports do. */
    decimalComma: z.boolean().default(false),
    /** Columns (or fields) holding numbers: checked and normalised to 1234.56 before the mapping. */
    numbers: z.array(z.string().min(1)).default([]),
    /** XML: the dotted path of the repeated record element, e.g. `Prices.Price`. */
    recordPath: z.string().min(1).optional(),
    /**
     * Row → canonical record, in the flow mapping's rule language (`sku: Artikelnummer`,
     * `price: { from: Preis, format: decimal2 }`, `{ expr: … }`). The record holds exactly the fields these
     * rules set (plus source, sourceId, updatedAt). Absent: the row is taken as the canonical record.
     */
    fields: Mapping.optional(),
    /** Writing: where files go and what they hold. Absent: the entity is read only. */
    write: WriteSettings.optional(),
  })
  .superRefine((e, ctx) => {
    if (e.format === "xml" && e.recordPath === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["recordPath"],
        message: "an XML entity needs recordPath, the dotted path of its record element (e.g. Prices.Price)",
      });
    }
    if (e.format === "csv" && !e.header && (e.columns === undefined || e.columns.length === 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["columns"],
        message: "a CSV file without a header (header: false) needs columns: the column names, in order",
      });
    }
    if (e.format !== "csv" && e.columns !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["columns"],
        message: `columns only applies to CSV files, this entity's format is ${e.format}`,
      });
    }
  });
export type EntityFiles = z.infer<typeof EntityFiles>;

export const FileConfig = z
  .strictObject({
    /** The exchange folder: a local path, or with `sftp` the path on the server. */
    folder: z.string().min(1),
    /** Reach the folder over SFTP instead of on this machine. */
    sftp: Sftp.optional(),
    /**
     * A file is read only once `<name>.done` exists beside it (the sender writes it last). Otherwise a file
     * is read once its size and modification time are the same at two looks `settleMs` apart.
     */
    doneMarker: z.boolean().default(false),
    settleMs: z.number().int().min(0).default(2_000),
    /** Records per page at most (the flow's batch size is used when smaller). */
    pageSize: z.number().int().min(1).default(500),
    entities: entitySettings(EntityFiles, "Per canonical entity (product, price, inventory, …): its files"),
  })
  .superRefine((c, ctx) => {
    if (Object.keys(c.entities).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["entities"],
        message: "configure the files of one entity at least",
      });
    }
  });
export type FileConfig = z.infer<typeof FileConfig>;
