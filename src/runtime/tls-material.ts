import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { WatchedFiles, type WatchOptions } from './watched-files.ts';

/** A serving certificate and its key, and the CA bundle clients' certificates are checked against. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Present for mutual TLS: who may connect. */
  readonly ca?: Buffer;
}

/** Where a TLS server's files are. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly clientCa?: string;
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * A PEM bundle of one or more certificates, each of which parses: a bundle
 * of the old and the new CA is how a CA is rolled over.
 */
export function caBundle(pem: Buffer): Buffer {
  const blocks = pem.toString('utf8').match(pemCertificate) ?? [];
  if (blocks.length === 0) throw new Error('holds no PEM certificate');
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new Error(
        `certificate ${String(index + 1)} of the bundle does not parse: ${(error as Error).message}`,
      );
    }
  }
  return pem;
}

/**
 * A certificate, its key and optionally a CA bundle that make a TLS context:
 * the key must be the certificate's (OpenSSL checks, as a server would).
 */
export function tlsMaterial([cert, key, ca]: readonly Buffer[]): TlsMaterial {
  if (!cert || !key) throw new Error('needs a certificate and its key');
  if ((cert.toString('utf8').match(pemCertificate) ?? []).length === 0) {
    throw new Error('the certificate file holds no PEM certificate');
  }
  const material = { cert, key, ...(ca && { ca: caBundle(ca) }) };
  createSecureContext(material);
  return material;
}

/** A server's certificate, key and client CA, read again whenever one of the files changes. */
export function watchTlsFiles(
  what: string,
  files: TlsFiles,
  options: WatchOptions = {},
): Promise<WatchedFiles<TlsMaterial>> {
  const paths = [files.cert, files.key, ...(files.clientCa === undefined ? [] : [files.clientCa])];
  return WatchedFiles.open(what, paths, tlsMaterial, options);
}

/** A CA bundle, read again whenever its file changes. */
export function watchCaBundle(
  what: string,
  file: string,
  options: WatchOptions = {},
): Promise<WatchedFiles<Buffer>> {
  return WatchedFiles.open(what, [file], ([pem]) => caBundle(pem ?? Buffer.alloc(0)), options);
}

/** A bearer token: the file's text without surrounding whitespace (a trailing newline). */
export function bearerToken([text]: readonly Buffer[]): string {
  const token = (text ?? Buffer.alloc(0)).toString('utf8').trim();
  if (token === '') throw new Error('is empty');
  if (/\s/.test(token)) throw new Error('holds whitespace inside the token');
  return token;
}
