import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { cacheDir } from '../src/runtime/cache-dir.ts';
import {
  RE2_SOURCE_PACKAGE,
  programSizeAddonDir,
  programSizeAddonPath,
} from '../src/spec/regex-program-size.ts';

/**
 * `npm install` builds the addon that tells a regex's RE2 program size
 * (docs: DESIGN.md, "Regexes are sized by Envoy's own RE2"). RE2's sources
 * come from the npm package that ships the RE2 release Envoy 1.40 runs;
 * only its tarball is used, unpacked into .cache, and the addon is rebuilt
 * only when that release or the addon's source changes. A build is also kept
 * in the machine-level cache, keyed by what it was built from and for, so a
 * fresh clone on the same machine copies it instead of compiling RE2 again.
 */
const repoRoot = join(import.meta.dirname, '..');
const addonSource = join(repoRoot, 'native', 're2-program-size.cc');
const dir = programSizeAddonDir;
const stampFile = join(dir, 'built-from');

const stamp = createHash('sha256')
  .update(RE2_SOURCE_PACKAGE)
  .update(readFileSync(addonSource))
  .update(readFileSync(import.meta.filename))
  .update(`${process.platform}-${process.arch}-abi${process.versions.modules}`)
  .digest('hex');
const machineCopy = join(cacheDir(), 're2-program-size', stamp, 're2_program_size.node');

function unpackSources(): string {
  const unpacked = join(dir, 'package');
  if (existsSync(join(unpacked, 'binding.gyp'))) return unpacked;
  mkdirSync(dir, { recursive: true });
  const tarball = execFileSync(
    'npm',
    ['pack', RE2_SOURCE_PACKAGE, '--silent', '--pack-destination', dir],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n')
    .at(-1);
  if (tarball === undefined) throw new Error(`npm pack ${RE2_SOURCE_PACKAGE} named no tarball`);
  execFileSync('tar', ['xzf', join(dir, tarball), '-C', dir]);
  rmSync(join(dir, tarball));
  return unpacked;
}

/** RE2's and Abseil's sources, as the package's own build lists them (its bindings left out). */
function vendoredSources(unpacked: string): { common: string[]; windows: string[] } {
  const gyp = readFileSync(join(unpacked, 'binding.gyp'), 'utf8');
  const windowsAt = gyp.search(/OS==\\?"win/);
  const common: string[] = [];
  const windows: string[] = [];
  for (const match of gyp.matchAll(/"(vendor\/[^"]+\.cc)"/g)) {
    (windowsAt >= 0 && match.index > windowsAt ? windows : common).push(`package/${match[1]}`);
  }
  if (common.length === 0) throw new Error(`no RE2 sources listed in ${unpacked}/binding.gyp`);
  return { common, windows };
}

function bindingGyp(sources: { common: string[]; windows: string[] }): string {
  const flags = ['-std=c++2a', '-O2', '-Wno-sign-compare', '-Wno-unused-parameter'];
  return JSON.stringify(
    {
      targets: [
        {
          target_name: 're2_program_size',
          sources: [relative(dir, addonSource), ...sources.common],
          cflags: flags,
          cflags_cc: flags,
          defines: ['NDEBUG', 'NOMINMAX'],
          include_dirs: ['package/vendor/re2', 'package/vendor/abseil-cpp'],
          xcode_settings: {
            MACOSX_DEPLOYMENT_TARGET: '10.15',
            CLANG_CXX_LANGUAGE_STANDARD: 'c++2a',
            CLANG_CXX_LIBRARY: 'libc++',
            OTHER_CFLAGS: flags,
          },
          conditions: [
            ['OS=="linux"', { cflags: ['-pthread'], ldflags: ['-pthread'] }],
            ['OS=="win"', { sources: sources.windows }],
          ],
        },
      ],
    },
    null,
    2,
  );
}

if (
  existsSync(programSizeAddonPath) &&
  existsSync(stampFile) &&
  readFileSync(stampFile, 'utf8') === stamp
) {
  process.exit(0);
}
if (existsSync(machineCopy)) {
  mkdirSync(dirname(programSizeAddonPath), { recursive: true });
  copyFileSync(machineCopy, programSizeAddonPath);
  writeFileSync(stampFile, stamp);
  mkdirSync(dirname(machineCopy), { recursive: true });
  copyFileSync(programSizeAddonPath, `${machineCopy}.partial`);
  renameSync(`${machineCopy}.partial`, machineCopy);
  process.exit(0);
}
const unpacked = unpackSources();
writeFileSync(join(dir, 'binding.gyp'), bindingGyp(vendoredSources(unpacked)));
process.stderr.write(`building the RE2 program-size addon from ${RE2_SOURCE_PACKAGE} (once)\n`);
try {
  execFileSync('node-gyp', ['rebuild', '-j', 'max'], { cwd: dir, stdio: 'pipe' });
} catch (error) {
  const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
  process.stderr.write(`${String(stdout ?? '')}${String(stderr ?? '')}`);
  process.stderr.write(
    `Building ${programSizeAddonPath} failed: ${(error as Error).message}\n` +
      'It needs a C++20 compiler, make and python3 (node-gyp), and runs from `npm install`, which puts node-gyp on PATH.\n',
  );
  process.exit(1);
}
writeFileSync(stampFile, stamp);
mkdirSync(dirname(machineCopy), { recursive: true });
copyFileSync(programSizeAddonPath, `${machineCopy}.partial`);
renameSync(`${machineCopy}.partial`, machineCopy);
