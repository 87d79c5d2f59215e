const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const durationPattern = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/;

/** Milliseconds of a spec duration ("250ms", "1.5s"), or undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = durationPattern.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof units];
  return Math.round(Number(amount) * units[unit]);
}
