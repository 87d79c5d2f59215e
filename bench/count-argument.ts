/**
 * A whole number of at least 1 from a benchmark's command line: a typo there
 * would otherwise become NaN and a run that measures nothing, or never ends.
 */
export function countArgument(name: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name} wants a whole number of at least 1, not ${text ?? 'nothing'}\n`);
    process.exit(2);
  }
  return value;
}

/** `--name N` of this script's command line, or `fallback` without it. */
export function countOption(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index < 0 ? fallback : countArgument(name, process.argv[index + 1]);
}
