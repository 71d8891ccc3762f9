/** Bytes of the length prefix in front of every frame (unsigned 32-bit, big-endian). */
export const LENGTH_PREFIX_BYTES = 4;

/** Why a stream was rejected by the frame decoder. */
export interface FramingError {
  reason: "oversized" | "empty";
  declaredBytes: number;
}

/** Receives what a FrameDecoder finds: one object instead of two closures per stream. */
export interface FrameSink {
  /** One complete frame; `frame` is valid only during the call. */
  onFrame(frame: Buffer): void;
  /** The stream broke the framing rules; no further frame follows. */
  onFramingError(err: FramingError): void;
}

/**
 * Splits a TCP byte stream into frames (4-byte big-endian length + body) without copying when a
 * chunk holds whole frames: each frame handed to `onFrame` is a view into the chunk, valid only
 * during the call. A partial frame is gathered across chunks and copied once when complete.
 * The length prefix is checked against `maxFrameBytes` before anything of the body is buffered.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private readonly sink: FrameSink;
  /** Pending bytes of an incomplete prefix or body; null while nothing is pending (no array per idle stream). */
  private parts: Buffer[] | null = null;
  private partsBytes = 0;
  /** Body length of the frame being gathered, or -1 while the prefix itself is incomplete. */
  private need = -1;
  private failed = false;

  /** Frames and errors go to `sink` (the gateway's sessions implement FrameSink: no closures). */
  constructor(maxFrameBytes: number, sink: FrameSink);
  /** Frames go to `onFrame`, a framing error to `onError`. */
  constructor(maxFrameBytes: number, onFrame: (frame: Buffer) => void, onError: (err: FramingError) => void);
  constructor(maxFrameBytes: number, sinkOrOnFrame: FrameSink | ((frame: Buffer) => void), onError?: (err: FramingError) => void) {
    this.maxFrameBytes = maxFrameBytes;
    this.sink = typeof sinkOrOnFrame === "function" ? { onFrame: sinkOrOnFrame, onFramingError: onError ?? (() => undefined) } : sinkOrOnFrame;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.partsBytes;
  }

  /** Feeds the next chunk of the stream. After an error, further input is ignored. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    let offset = 0;
    if (this.partsBytes > 0 || this.need >= 0) {
      offset = this.completePending(chunk);
      if (offset < 0) return;
    }
    const len = chunk.length;
    while (offset + LENGTH_PREFIX_BYTES <= len) {
      const size = chunk.readUInt32BE(offset);
      if (!this.checkSize(size)) return;
      const start = offset + LENGTH_PREFIX_BYTES;
      if (start + size > len) break;
      offset = start + size;
      this.sink.onFrame(chunk.subarray(start, offset));
      if (this.failed) return;
    }
    if (offset < len) this.keep(chunk.subarray(offset));
  }

  /** Uses the start of `chunk` to finish a pending frame; returns the offset after it, or -1. */
  private completePending(chunk: Buffer): number {
    let offset = 0;
    if (this.need < 0) {
      const missing = LENGTH_PREFIX_BYTES - this.partsBytes;
      if (chunk.length < missing) {
        this.keep(chunk);
        return -1;
      }
      const prefix = Buffer.concat([...this.parts!, chunk.subarray(0, missing)], LENGTH_PREFIX_BYTES);
      offset = missing;
      const size = prefix.readUInt32BE(0);
      if (!this.checkSize(size)) return -1;
      this.parts = null;
      this.partsBytes = 0;
      this.need = size;
    }
    const have = this.partsBytes;
    const missing = this.need - have;
    if (chunk.length - offset < missing) {
      (this.parts ??= []).push(Buffer.from(chunk.subarray(offset)));
      this.partsBytes += chunk.length - offset;
      return -1;
    }
    const frame = have === 0 ? chunk.subarray(offset, offset + missing) : Buffer.concat([...this.parts!, chunk.subarray(offset, offset + missing)], this.need);
    this.parts = null;
    this.partsBytes = 0;
    this.need = -1;
    this.sink.onFrame(frame);
    if (this.failed) return -1;
    return offset + missing;
  }

  /** Keeps the tail of a chunk that starts an incomplete frame (copied: the chunk may be reused). */
  private keep(tail: Buffer): void {
    if (this.need < 0 && this.partsBytes + tail.length >= LENGTH_PREFIX_BYTES) {
      // A complete prefix is in here: read it now so the body can be size-checked first.
      const prefix = Buffer.concat(this.parts === null ? [tail] : [...this.parts, tail], this.partsBytes + tail.length);
      const size = prefix.readUInt32BE(0);
      if (!this.checkSize(size)) return;
      this.need = size;
      const body = prefix.subarray(LENGTH_PREFIX_BYTES);
      this.parts = body.length > 0 ? [Buffer.from(body)] : null;
      this.partsBytes = body.length;
      return;
    }
    (this.parts ??= []).push(Buffer.from(tail));
    this.partsBytes += tail.length;
  }

  private checkSize(size: number): boolean {
    if (size > this.maxFrameBytes) {
      this.fail({ reason: "oversized", declaredBytes: size });
      return false;
    }
    if (size === 0) {
      this.fail({ reason: "empty", declaredBytes: 0 });
      return false;
    }
    return true;
  }

  private fail(err: FramingError): void {
    this.failed = true;
    this.parts = null;
    this.partsBytes = 0;
    this.sink.onFramingError(err);
  }
}
