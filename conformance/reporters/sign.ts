// report.json.sig: a manifest of the SHA-256 of every file the run wrote (report.json, junit.xml,
// report.html) and an Ed25519 signature over it, made with a key file of `parley keygen partner`
// (private JWK); `verify-report` checks it and every file with the public half.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../assert/match.ts';

export const SIGNATURE_FILE = 'report.json.sig';

interface OkpJwk {
  kty?: string;
  crv?: string;
  x?: string;
  d?: string;
  kid?: string;
}

/** Reads a JSON key file; the Error names the file and says what is wrong with it. */
export function readKeyFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${file}: no such key file`
        : `${file}: cannot be read (${code ?? 'error'})`,
      { cause: error },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${file}: not a JSON key file (a JWK of \`parley keygen\` is expected)`);
  }
}

function readJwk(file: string): OkpJwk {
  const jwk = readKeyFile(file) as OkpJwk;
  if (
    typeof jwk !== 'object' ||
    jwk === null ||
    jwk.kty !== 'OKP' ||
    jwk.crv !== 'Ed25519' ||
    typeof jwk.x !== 'string'
  )
    throw new Error(`${file}: not an Ed25519 JWK`);
  return jwk;
}

/**
 * Loads the private signing key of `--sign-key` (checked before the run starts). Throws an Error
 * naming the file when it is missing, malformed, public only, or its halves do not match.
 */
export function loadSignKey(keyFile: string): { key: KeyObject; kid?: string } {
  const jwk = readJwk(keyFile);
  if (typeof jwk.d !== 'string') throw new Error(`${keyFile}: holds no private key (no "d")`);
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d },
      format: 'jwk',
    });
  } catch {
    throw new Error(`${keyFile}: not a valid Ed25519 private key`);
  }
  return jwk.kid ? { key, kid: jwk.kid } : { key };
}

/** The files every run writes into --report-dir, all of them covered by the signature. */
export const REPORT_FILES = ['report.json', 'junit.xml', 'report.html'] as const;

export const SIGNATURE_FORMAT = 'parley-report-signature/2';

/** What is signed: the SHA-256 of every file the run wrote. */
export interface SignedManifest {
  format: typeof SIGNATURE_FORMAT;
  alg: 'Ed25519';
  kid?: string;
  /** File name (in the report directory) → lowercase hex SHA-256 of its bytes. */
  files: Record<string, string>;
}

/** The signature file's content: the manifest and an Ed25519 signature over its canonical JSON. */
export interface SignatureFile extends SignedManifest {
  /** base64url of the 64-byte signature over canonicalJson(manifest). */
  signature: string;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Signs the files `names` of `dir` (default: every report file) with the private JWK in
 * `keyFile`: a manifest of their SHA-256, signed; writes and returns the signature file's path.
 */
export function signReport(
  dir: string,
  keyFile: string,
  names: readonly string[] = REPORT_FILES,
): string {
  const { key, kid } = loadSignKey(keyFile);
  const manifest: SignedManifest = {
    format: SIGNATURE_FORMAT,
    alg: 'Ed25519',
    ...(kid ? { kid } : {}),
    files: Object.fromEntries(names.map((n) => [n, sha256(readFileSync(join(dir, n)))])),
  };
  const body: SignatureFile = {
    ...manifest,
    signature: sign(null, Buffer.from(canonicalJson(manifest)), key).toString('base64url'),
  };
  const file = join(dir, SIGNATURE_FILE);
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/**
 * Checks `dir/report.json.sig` under the public JWK in `publicKeyFile`: the signature over the
 * manifest, then every file it lists against its SHA-256; report.json, junit.xml and report.html
 * must all be listed. Throws (a usage error) for a key file that is not a public Ed25519 JWK,
 * a private key included.
 */
export function verifyReport(
  dir: string,
  publicKeyFile: string,
): { valid: boolean; reason: string } {
  const jwk = readJwk(publicKeyFile);
  if (typeof jwk.d === 'string')
    throw new Error(
      `${publicKeyFile}: holds a private key; verify with the public half (the .pub.json file), and keep the private one out of reach`,
    );
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  let sig: Partial<SignatureFile>;
  try {
    sig = JSON.parse(readFileSync(join(dir, SIGNATURE_FILE), 'utf8')) as Partial<SignatureFile>;
  } catch {
    return { valid: false, reason: 'the signature file is not JSON' };
  }
  if (
    sig.format !== SIGNATURE_FORMAT ||
    sig.alg !== 'Ed25519' ||
    typeof sig.signature !== 'string' ||
    typeof sig.files !== 'object' ||
    sig.files === null
  )
    return { valid: false, reason: 'the signature file is malformed' };
  if (sig.kid && jwk.kid && sig.kid !== jwk.kid)
    return { valid: false, reason: `signed with key ${sig.kid}, not ${jwk.kid}` };
  const { signature, ...manifest } = sig as SignatureFile;
  if (!verify(null, Buffer.from(canonicalJson(manifest)), key, Buffer.from(signature, 'base64url')))
    return { valid: false, reason: 'the signature does not verify over the manifest of files' };
  const unlisted = REPORT_FILES.filter((n) => !(n in manifest.files));
  if (unlisted.length > 0)
    return { valid: false, reason: `the signature does not cover ${unlisted.join(', ')}` };
  for (const [name, digest] of Object.entries(manifest.files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.'))
      return { valid: false, reason: `the manifest names a file outside the directory: ${name}` };
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, name));
    } catch {
      return { valid: false, reason: `${name} is signed but missing` };
    }
    if (sha256(bytes) !== digest)
      return { valid: false, reason: `${name} was altered after it was signed` };
  }
  return {
    valid: true,
    reason: `${Object.keys(manifest.files).join(', ')} are signed by ${jwk.kid ?? 'the key'}`,
  };
}
