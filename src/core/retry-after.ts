/**
 * Reads an HTTP Retry-After value: either delay-seconds ("120") or an HTTP date. Returns milliseconds from
 * `now`, or undefined when the header is absent or unreadable (the caller then uses its own backoff).
 */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
