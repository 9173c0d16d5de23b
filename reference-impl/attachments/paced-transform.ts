/**
 * A Transform whose async steps push output one piece at a time and wait for the reader whenever
 * the readable buffer is full, so one large write (or the padding emitted at the end) never piles
 * up in memory. Spec: spec/attachments.md, "Streaming and memory".
 *
 * Node's Transform applies backpressure only between `_transform` calls: everything pushed inside
 * one call is buffered. Attachment streams emit up to ~11 % of the file as padding from `_flush`,
 * so they pace each push themselves: when `push` returns false they wait for the next `_read`.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { CHUNK_WIRE_BYTES } from './constants.ts';

export abstract class PacedTransform extends Transform {
  #resume: (() => void) | undefined;

  constructor() {
    // One wire chunk on each side: enough to keep AES busy, small enough to keep memory flat.
    super({ readableHighWaterMark: CHUNK_WIRE_BYTES, writableHighWaterMark: CHUNK_WIRE_BYTES });
  }

  /** Handles one written piece; may push through `pushPaced`. Throwing destroys the stream. */
  protected abstract transformPiece(piece: Buffer): Promise<void>;

  /** Runs once the writer ended; may push through `pushPaced`. Throwing destroys the stream. */
  protected abstract flushAll(): Promise<void>;

  /** Pushes `piece`; resolves at once if the reader has room, else when it asks for more. */
  protected pushPaced(piece: Buffer): Promise<void> | undefined {
    if (this.push(piece) || this.destroyed) return undefined;
    return new Promise<void>((resolve) => {
      this.#resume = resolve;
    });
  }

  override _read(size: number): void {
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
    super._read(size);
  }

  override _transform(piece: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.transformPiece(piece).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.flushAll().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A paused step stays paused for good: nothing references it once the stream is dropped.
    this.#resume = undefined;
    callback(error);
  }
}
