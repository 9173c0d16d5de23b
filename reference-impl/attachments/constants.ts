/**
 * Named limits of the attachment stream cipher, each with its reason.
 * Spec: spec/attachments.md, "Chunked encryption" and "Size padding".
 */

/** AES-256 key length. A fresh key is drawn for every file, so a key never protects two blobs. */
export const KEY_BYTES = 32;

/**
 * Plaintext bytes per chunk (64 KiB). Big enough that the per-chunk AES-GCM setup and the 16-byte
 * tag cost little (tag overhead 0.024 %), small enough that a decryptor holds only one chunk
 * before it can authenticate and release it, and that a video seek fetches at most 64 KiB extra.
 */
export const CHUNK_BYTES = 65536;

/** AES-GCM authentication tag length: the full 128 bits, never truncated. */
export const TAG_BYTES = 16;

/** Bytes of one full chunk on the wire: ciphertext ‖ tag. */
export const CHUNK_WIRE_BYTES = CHUNK_BYTES + TAG_BYTES;

/** AES-GCM nonce length: 96 bits, the only length GCM uses without an extra GHASH pass. */
export const NONCE_BYTES = 12;

/**
 * Random per-file nonce prefix (nonce bytes 0–6). The key is already fresh per file, so the prefix
 * is defence in depth: a key reused by a faulty sender still gets distinct nonces, and a chunk
 * spliced from another file fails even under the same key.
 */
export const NONCE_PREFIX_BYTES = 7;

/** Offset and width of the big-endian chunk index in the nonce (bytes 7–10): reordering fails. */
export const NONCE_INDEX_OFFSET = 7;
export const NONCE_INDEX_BYTES = 4;

/** Offset of the last-chunk flag (byte 11): truncation at a chunk boundary fails. */
export const NONCE_FLAG_OFFSET = 11;
export const FLAG_MORE = 0x00;
export const FLAG_LAST = 0x01;

/**
 * Most chunks in one file: 2^32 − 1, so every chunk index 0 … 2^32 − 2 and the count itself fit
 * the nonce's 4-byte index field. Indices never repeat under one key, so GCM's nonce-uniqueness
 * requirement holds by construction (no random-nonce birthday bound applies).
 */
export const MAX_CHUNKS = 2 ** 32 - 1;

/** Largest padded plaintext: MAX_CHUNKS × 64 KiB ≈ 256 TiB (a safe integer; providers cap far lower). */
export const MAX_PADDED_BYTES = MAX_CHUNKS * CHUNK_BYTES;

/**
 * Smallest padded size (1 KiB). Padmé alone pads tiny files little (sizes below 2^3 not at all);
 * every file below 1 KiB looks the same instead, which hides the length of short documents and
 * stickers at a negligible cost.
 */
export const MIN_PADDED_BYTES = 1024;

/** SHA-256 digest length of the whole ciphertext (the pointer's `digest`). */
export const DIGEST_BYTES = 32;

/**
 * Largest plaintext size accepted: 2^48 − 2^41, the top Padmé bucket (step 2^41 for sizes in
 * [2^47, 2^48)) whose padded size still fits MAX_PADDED_BYTES.
 */
export const MAX_PLAINTEXT_BYTES = 2 ** 48 - 2 ** 41;
