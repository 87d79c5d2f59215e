import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The RE2 release Envoy 1.40 runs (2025-11-05), as shipped in this npm
 * package's sources; scripts/build-re2-program-size.ts builds the addon
 * from them. Upgrading Envoy means checking this still matches: the
 * end-to-end test "RE2 program sizes are Envoy's" says so.
 */
export const RE2_SOURCE_PACKAGE = 're2@1.27.1';

/**
 * Envoy refuses a regex whose RE2 program is larger than the runtime value
 * `re2.max_program_size.error_level`, 100 unless an operator raises it.
 */
export const MAX_REGEX_PROGRAM_SIZE = 100;

export const programSizeAddonDir = join(
  import.meta.dirname,
  '..',
  '..',
  '.cache',
  're2-program-size',
);
export const programSizeAddonPath = join(
  programSizeAddonDir,
  'build',
  'Release',
  're2_program_size.node',
);

interface ProgramSizeAddon {
  /** The program size, or RE2's error when the pattern does not compile. */
  programSize(pattern: string): number | string;
}

let addon: ProgramSizeAddon | undefined;

/** Graphs of one fleet share their patterns; RE2 compiles each once (bounded: cleared when full). */
const known = new Map<string, { size: number } | { error: string }>();
const KNOWN_MAX = 10_000;

/**
 * RE2's program size of `pattern` as Envoy compiles it, or RE2's own error
 * when Envoy could not compile it at all. Real RE2, never an estimate: the
 * size depends on RE2's parser, simplifier and compiler in detail.
 */
export function regexProgramSize(pattern: string): { size: number } | { error: string } {
  try {
    addon ??= createRequire(import.meta.url)(programSizeAddonPath) as ProgramSizeAddon;
  } catch (error) {
    throw new Error(
      `the RE2 program-size addon is not built (${(error as Error).message}); run \`npm install\``,
    );
  }
  let result = known.get(pattern);
  if (!result) {
    const size = addon.programSize(pattern);
    result = typeof size === 'number' ? { size } : { error: size };
    if (known.size >= KNOWN_MAX) known.clear();
    known.set(pattern, result);
  }
  return result;
}
