// Test helpers for the KEM known answers: NIST's AES-256 CTR_DRBG (the randombytes of the NIST
// PQC KAT generator, PQCgenKAT_kem.c / rng.c), a .rsp parser, and crystals-kyber@5.1.0 loaded
// from CommonJS (a devDependency: tests and benchmarks only).
import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** NIST SP 800-90A CTR_DRBG with AES-256, no derivation function, as the PQC KAT generator seeds it. */
export class NistKatDrbg {
  private key = Buffer.alloc(32);
  private v = Buffer.alloc(16);

  constructor(entropy: Uint8Array) {
    if (entropy.length !== 48) throw new RangeError('the KAT DRBG takes a 48-byte seed');
    this.update(entropy);
  }

  private nextBlock(): Buffer {
    for (let j = 15; j >= 0; j--) {
      if (this.v[j] === 0xff) this.v[j] = 0;
      else {
        this.v[j]! += 1;
        break;
      }
    }
    const cipher = createCipheriv('aes-256-ecb', this.key, null);
    cipher.setAutoPadding(false);
    return cipher.update(this.v);
  }

  private update(provided?: Uint8Array): void {
    const temp = Buffer.concat([this.nextBlock(), this.nextBlock(), this.nextBlock()]);
    if (provided) for (let i = 0; i < 48; i++) temp[i]! ^= provided[i]!;
    this.key = temp.subarray(0, 32);
    this.v = Buffer.from(temp.subarray(32, 48));
  }

  /** randombytes(x, n): n bytes, then the state update every call ends with. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 16) out.set(this.nextBlock().subarray(0, Math.min(16, n - o)), o);
    this.update();
    return out;
  }
}

export interface KatVector {
  count: number;
  seed: Uint8Array;
  pk: Uint8Array;
  sk: Uint8Array;
  ct: Uint8Array;
  ss: Uint8Array;
}

/** The vectors of a NIST PQC KEM .rsp file. */
export function readRsp(path: string): KatVector[] {
  const vectors: KatVector[] = [];
  let current: Record<string, string> = {};
  const flush = (): void => {
    if (current.count === undefined) return;
    const bytes = (name: string): Uint8Array => new Uint8Array(Buffer.from(current[name]!, 'hex'));
    vectors.push({
      count: Number(current.count),
      seed: bytes('seed'),
      pk: bytes('pk'),
      sk: bytes('sk'),
      ct: bytes('ct'),
      ss: bytes('ss'),
    });
    current = {};
  };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^(\w+) = ([0-9A-Fa-f]*)$/.exec(line.trim());
    if (!match) continue;
    if (match[1] === 'count') flush();
    current[match[1]!] = match[2]!;
  }
  flush();
  return vectors;
}

const require = createRequire(import.meta.url);

/** crystals-kyber@5.1.0 (round-3 Kyber in plain JavaScript; random keygen and encryption only). */
export const crystalsKyber = require('crystals-kyber') as {
  KeyGen1024(): [number[], number[]];
  Encrypt1024(publicKey: ArrayLike<number>): [number[], Uint8Array];
  Decrypt1024(ciphertext: ArrayLike<number>, secretKey: ArrayLike<number>): Uint8Array;
};

/** The path of a file shipped inside an installed package. */
export const packageFile = (specifier: string): string => require.resolve(specifier);

export const hex = (bytes: Uint8Array | ArrayLike<number>): string =>
  Buffer.from(bytes as Uint8Array).toString('hex');
