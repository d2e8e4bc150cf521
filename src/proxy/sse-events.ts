// Where server-sent events begin and end in raw bytes. SSE lines end in `\n`, `\r\n` or `\r`, even mixed
// in one stream, and an event ends at a blank line.

const LF = 0x0a;
const CR = 0x0d;
const LF_LF = Buffer.from('\n\n');

/**
 * Index just past the blank line that ends the event starting at `from`, or -1 when it has not arrived.
 * A `\r` as the last byte may be the first half of a `\r\n`, so it only ends a line when `final` says no
 * byte follows. `from` is taken as the start of a line; a line ending right there is not a blank line.
 */
export function nextEventEnd(buf: Buffer, from: number, final = false): number {
  if (!buf.includes(CR, from)) {
    // The common case, `\n` endings only, found natively.
    const at = buf.indexOf(LF_LF, from);
    return at < 0 ? -1 : at + 2;
  }
  let lineStart = from;
  let lf = -2; // position of the next \n at or after i, -1 when there is none, -2 before the first search
  let cr = -2;
  for (let i = from; ; ) {
    if (lf !== -1 && lf < i) lf = buf.indexOf(LF, i);
    if (cr !== -1 && cr < i) cr = buf.indexOf(CR, i);
    const at = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
    if (at < 0) return -1;
    let next = at + 1;
    if (at === cr) {
      if (next === buf.length && !final) return -1;
      if (buf[next] === LF) next++;
    }
    if (at === lineStart && at > from) return next;
    lineStart = next;
    i = next;
  }
}

/** Index just past the last complete event, 0 when there is none. */
export function lastEventEnd(buf: Buffer, final = false): number {
  if (!buf.includes(CR)) {
    const at = buf.lastIndexOf(LF_LF);
    return at < 0 ? 0 : at + 2;
  }
  let end = 0;
  for (let next = nextEventEnd(buf, 0, final); next > 0; next = nextEventEnd(buf, next, final)) end = next;
  return end;
}

/**
 * Bytes of an incomplete event to look back at when more of it arrives: enough to see whether the new
 * bytes close it (`\r\n` + `\r` left over, then `\n`), as the event itself holds no blank line yet.
 */
export const LOOKBACK_BYTES = 3;

/** `[start, end)` of the complete event in `events` (whose latin1 text is `text`) that holds the byte at `at`. */
export function eventAround(events: Buffer, text: string, at: number): [number, number] {
  if (!text.includes('\r')) {
    const before = text.lastIndexOf('\n\n', at);
    const after = text.indexOf('\n\n', at);
    return [before < 0 ? 0 : before + 2, after < 0 ? events.length : after + 2];
  }
  let start = 0;
  for (let end = nextEventEnd(events, 0, true); end > 0; end = nextEventEnd(events, end, true)) {
    if (end > at) return [start, end];
    start = end;
  }
  return [start, events.length];
}
