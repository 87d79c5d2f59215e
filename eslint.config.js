// @ts-check
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Modules that do I/O: pure pipeline stages must not reach for them. */
const ioModules = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'net',
  'node:net',
  'http',
  'node:http',
  'http2',
  'node:http2',
  'child_process',
  'node:child_process',
  'undici',
  '@grpc/grpc-js',
  '@kubernetes/client-node',
];

/** The stages that are pure functions of their input: no I/O of their own. */
const pureStages = [
  'src/spec/**',
  'src/protocols/**',
  'src/graph/**',
  'src/picture/**',
  'src/plan/**',
  'src/envoy/**',
  'src/protos/pgv/**',
  'src/executor/interpreter/**',
  'src/import/**',
];

/**
 * Which folder of src/ may import which, besides itself: the pipeline's
 * direction (DESIGN.md, Layout). A folder not listed by another is not
 * imported by it; nothing imports src/cli.
 */
const mayImport = {
  spec: [],
  protocols: ['spec'],
  graph: ['spec', 'protocols'],
  plan: ['spec', 'protocols', 'graph'],
  // Pictures of graphs (DOT, Mermaid, and SVG through Graphviz in WebAssembly): no I/O.
  picture: ['spec', 'graph', 'plan'],
  protos: [],
  envoy: ['spec', 'protocols', 'graph', 'plan', 'protos'],
  xds: ['envoy', 'protos'],
  'executor/interpreter': ['spec', 'protocols', 'plan'],
  'executor/transport': ['executor/interpreter', 'spec', 'protocols', 'plan'],
  sources: ['spec', 'graph'],
  controller: [
    'spec',
    'protocols',
    'graph',
    'plan',
    'picture',
    'protos',
    'envoy',
    'xds',
    'sources',
    'runtime',
  ],
  runtime: [],
  samples: ['spec', 'protocols'],
  import: ['spec'],
};

const folderZones = Object.entries(mayImport).map(([folder, allowed]) => ({
  target: `./src/${folder}`,
  from: './src',
  except: [folder, ...allowed].map((name) => `./${name}`),
  message: `src/${folder} may import ${allowed.length === 0 ? 'nothing of src/ but itself' : `only src/{${allowed.join(',')}}`} (DESIGN.md, Layout).`,
}));

export default tseslint.config(
  { ignores: ['node_modules/', '.cache/', '.tmp/', 'bin/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // import-x follows an import only into files it can parse and resolve: without these it
      // reads none of our .ts files, and no-cycle and no-restricted-paths see nothing.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` }),
      ],
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          // Zones are relative to this file, wherever ESLint runs from.
          basePath: import.meta.dirname,
          zones: [
            ...folderZones,
            {
              target: ['./test', './bench', './scripts'],
              from: './src/cli',
              message: 'src/cli only parses flags: use what it calls (controller, runtime, ...).',
            },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The Kubernetes client is for the Kubernetes source and the controller that runs it alone;
    // the pure stages' own rule below names it too.
    files: ['src/**'],
    ignores: ['src/sources/kubernetes/**', 'src/controller/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              message: 'Only src/sources/kubernetes and src/controller talk to Kubernetes.',
            },
          ],
        },
      ],
    },
  },
  {
    files: pureStages,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({
            name,
            message: 'Pure pipeline stages do no I/O; pass data in from an edge module.',
          })),
        },
      ],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
