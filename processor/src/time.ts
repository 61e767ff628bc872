// The one rule for reading a time a device sends (a message's `ts`, a `timestamp` field):
// - a number is epoch seconds when below 1e11 (before the year 5138 in seconds, 1973 in
//   milliseconds), else epoch milliseconds: devices send both, and 1700000000 ms would be 1970;
// - text is ISO 8601, `YYYY-MM-DD`, optionally `THH:MM[:SS[.fff…]]` (or a space for T) and a zone
//   (`Z`, `±HH:MM`, `±HHMM`, `±HH`); without a zone it is UTC, never the host's local time, so a
//   laptop running `myt dev` and the VM agree;
// - a date that does not exist (30 February, hour 24, minute 60) is refused, not rolled over;
// - years 1970 to 9999 only: anything else is a unit or clock mistake more often than real data.

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const MAX_MS = 253402300800000; // 10000-01-01T00:00:00Z
const SECONDS_BELOW = 1e11;

function fromNumber(value: number): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  return Math.round(Math.abs(value) < SECONDS_BELOW ? value * 1000 : value);
}

function fromText(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.UTC rolls 30 February over to 1 March: a day past the month's last is refused instead.
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(3).replace(':', '') || '0');
    if (zh > 23 || zm > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

/** Parses a device's time by the rule above; undefined when it breaks the rule. */
export function parseTimestamp(value: unknown): Date | undefined {
  const ms = typeof value === 'number' ? fromNumber(value) : typeof value === 'string' ? fromText(value) : undefined;
  return ms !== undefined && ms >= 0 && ms < MAX_MS ? new Date(ms) : undefined;
}

/** What a refused time is told: the rule in one line. */
export const TIMESTAMP_RULE = 'ISO 8601 (UTC unless a zone is given) or epoch seconds/milliseconds, 1970-9999, a date that exists';
