// The heap settings bin/passerelle.mjs runs the CLI with when the user gave none.
//
// Node sizes V8's heap from the machine's memory and, with room to spare, collects late: a catalogue push
// whose live heap stays near 30 MB settled at 270–300 MB of RSS on a 24 GB machine. Users do not pass Node
// flags, so the bin passes its own: a cap on the old generation and smaller young-generation semi-spaces
// (BENCHMARKS.md, scenario 4). A user's own --max-old-space-size (on the command line or in NODE_OPTIONS)
// wins, and so does PASSERELLE_NODE_FLAGS=off.

/** The old-generation cap in MB: ~5× the live heap measured at 1M records, headroom for a big config. */
export const OLD_SPACE_MB = 192;
/** Young-generation semi-space in MB (Node's default is 16 on 64-bit machines). */
export const SEMI_SPACE_MB = 4;

/**
 * The Node flags to re-run the CLI with, or null to run it in this process as it is: when the user already
 * sized the heap, when this process is that re-run, or when PASSERELLE_NODE_FLAGS is "off".
 */
export function heapFlags(execArgv, env) {
  if (env.PASSERELLE_NODE_FLAGS === "off" || env.PASSERELLE_NODE_FLAGS === "applied") return null;
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (given.some((a) => /^--max[-_]old[-_]space[-_]size(=|$)/.test(a))) return null;
  const flags = [`--max-old-space-size=${OLD_SPACE_MB}`];
  if (!given.some((a) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(a))) {
    flags.push(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  }
  return flags;
}
