import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Short-lived test certificates: a test run never outlives them, and a leaked one soon expires. */
const validDays = '2';

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (error) {
    throw new Error(
      `openssl ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`,
    );
  }
}

/** A PEM key and certificate on disk, and their text (for kubeconfigs and TLS options). */
export interface IssuedCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestCa extends IssuedCert {
  readonly dir: string;
  /**
   * A certificate signed by this CA: `organizations` become O= (Kubernetes reads them as groups),
   * `hosts` and `uris` become subjectAltNames (IP or DNS, and URI), and it serves, authenticates a
   * client, or both. `expired`: its validity ended a day ago.
   */
  issue(
    name: string,
    subject: {
      commonName: string;
      organizations?: readonly string[];
      hosts?: readonly string[];
      uris?: readonly string[];
      usage: 'server' | 'client' | 'both';
      expired?: boolean;
    },
  ): Promise<IssuedCert>;
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function subjectOf(commonName: string, organizations: readonly string[]): string {
  const escape = (value: string): string => value.replace(/[/=\\]/g, (c) => `\\${c}`);
  return [...organizations.map((o) => `/O=${escape(o)}`), `/CN=${escape(commonName)}`].join('');
}

async function readPair(certFile: string, keyFile: string): Promise<IssuedCert> {
  return {
    certFile,
    keyFile,
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
  };
}

/** A CA made by openssl in `dir` (P-256 keys, about 0.1 s each). */
export async function makeTestCa(dir: string, commonName = 'switchyard-test-ca'): Promise<TestCa> {
  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-subj',
      `/CN=${commonName}`,
      '-days',
      validDays,
    ],
    dir,
  );
  const ca = await readPair(join(dir, 'ca.crt'), join(dir, 'ca.key'));
  let serial = 1;
  return {
    ...ca,
    dir,
    async issue(name, subject) {
      const usage = {
        server: 'serverAuth',
        client: 'clientAuth',
        both: 'serverAuth,clientAuth',
      }[subject.usage];
      const sans = [
        ...(subject.hosts ?? []).map((host) =>
          /^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`,
        ),
        ...(subject.uris ?? []).map((uri) => `URI:${uri}`),
      ];
      const extensions = [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${usage}`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
      ];
      await writeFile(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
      await openssl(
        [
          'req',
          '-new',
          ...ec,
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
          '-subj',
          subjectOf(subject.commonName, subject.organizations ?? []),
        ],
        dir,
      );
      serial++;
      await openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-set_serial',
          String(serial),
          '-days',
          // openssl 3.0 takes a negative count: the certificate ended before it began, so it has expired.
          subject.expired === true ? '-1' : validDays,
          '-extfile',
          `${name}.ext`,
          '-out',
          `${name}.crt`,
        ],
        dir,
      );
      return readPair(join(dir, `${name}.crt`), join(dir, `${name}.key`));
    },
  };
}

/** A P-256 key pair as PEM files (a ServiceAccount token signer, say). */
export async function makeKeyPair(
  dir: string,
  name: string,
): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  await openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`],
    dir,
  );
  await openssl(['pkey', '-in', `${name}.key`, '-pubout', '-out', `${name}.pub`], dir);
  return { privateKeyFile: join(dir, `${name}.key`), publicKeyFile: join(dir, `${name}.pub`) };
}
