// report.json.sig: an Ed25519 signature over the exact bytes of report.json, made with a key file
// of `parley keygen partner` (private JWK), and its check with the public half (`verify-report`).
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPORT_JSON } from './json.ts';

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

/** The signature file's content. */
export interface SignatureFile {
  alg: 'Ed25519';
  kid?: string;
  /** base64url of the 64-byte signature over report.json. */
  signature: string;
}

/** Signs `dir/report.json` with the private JWK in `keyFile`; writes and returns the .sig path. */
export function signReport(dir: string, keyFile: string): string {
  const { key, kid } = loadSignKey(keyFile);
  const bytes = readFileSync(join(dir, REPORT_JSON));
  const body: SignatureFile = {
    alg: 'Ed25519',
    ...(kid ? { kid } : {}),
    signature: sign(null, bytes, key).toString('base64url'),
  };
  const file = join(dir, SIGNATURE_FILE);
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** Checks `dir/report.json.sig` against `dir/report.json` under the public JWK in `publicKeyFile`. */
export function verifyReport(
  dir: string,
  publicKeyFile: string,
): { valid: boolean; reason: string } {
  const jwk = readJwk(publicKeyFile);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  const bytes = readFileSync(join(dir, REPORT_JSON));
  const sig = JSON.parse(readFileSync(join(dir, SIGNATURE_FILE), 'utf8')) as Partial<SignatureFile>;
  if (sig.alg !== 'Ed25519' || typeof sig.signature !== 'string')
    return { valid: false, reason: 'the signature file is malformed' };
  if (sig.kid && jwk.kid && sig.kid !== jwk.kid)
    return { valid: false, reason: `signed with key ${sig.kid}, not ${jwk.kid}` };
  const ok = verify(null, bytes, key, Buffer.from(sig.signature, 'base64url'));
  return ok
    ? { valid: true, reason: `report.json is signed by ${jwk.kid ?? 'the key'}` }
    : { valid: false, reason: 'the signature does not verify over report.json' };
}
