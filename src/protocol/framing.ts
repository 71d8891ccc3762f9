/** Bytes of the length prefix in front of every frame (unsigned 32-bit, big-endian). */
export const LENGTH_PREFIX_BYTES = 4;

/**
 * First reservation for a frame body split across chunks. The body buffer grows by doubling up
 * to the declared length, so memory follows the bytes received, not the length a peer declares
 * (a peer announcing maxFrameBytes and sending one byte must not cost maxFrameBytes).
 */
const FIRST_RESERVE_BYTES = 1024;

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
 * during the call. A frame split across chunks is copied into one body buffer as it arrives
 * (no buffer kept per chunk, however small the chunks). The length prefix is checked against
 * `maxFrameBytes` before anything of the body is buffered.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private readonly sink: FrameSink;
  /** The bytes of a length prefix split across chunks (made on the first split prefix). */
  private prefix: Buffer | null = null;
  private prefixBytes = 0;
  /** Body of the frame being gathered; null until its first byte arrives. */
  private body: Buffer | null = null;
  private bodyBytes = 0;
  /** Body length of the frame being gathered, or -1 while no prefix is complete. */
  private need = -1;
  private failed = false;
  private decoded = 0;

  /** Frames and errors go to `sink` (the gateway's sessions implement FrameSink: no closures). */
  constructor(maxFrameBytes: number, sink: FrameSink);
  /** Frames go to `onFrame`, a framing error to `onError`. */
  constructor(maxFrameBytes: number, onFrame: (frame: Buffer) => void, onError: (err: FramingError) => void);
  constructor(maxFrameBytes: number, sinkOrOnFrame: FrameSink | ((frame: Buffer) => void), onError?: (err: FramingError) => void) {
    this.maxFrameBytes = maxFrameBytes;
    this.sink = typeof sinkOrOnFrame === "function" ? { onFrame: sinkOrOnFrame, onFramingError: onError ?? (() => undefined) } : sinkOrOnFrame;
  }

  /** Bytes held for an incomplete frame (0 between frames: then no frame is started). */
  get buffered(): number {
    return this.prefixBytes + this.bodyBytes + (this.need >= 0 ? LENGTH_PREFIX_BYTES : 0);
  }

  /** Bytes reserved for the body of the incomplete frame (at most twice what arrived, or 1 KiB). */
  get reserved(): number {
    return this.body === null ? 0 : this.body.length;
  }

  /** Frames decoded so far: a change tells a caller that the pending frame is a new one. */
  get framesDecoded(): number {
    return this.decoded;
  }

  /** Feeds the next chunk of the stream. After an error, further input is ignored. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    let offset = 0;
    if (this.prefixBytes > 0 || this.need >= 0) {
      offset = this.completePending(chunk);
      if (offset < 0) return;
    }
    const len = chunk.length;
    while (offset + LENGTH_PREFIX_BYTES <= len) {
      const size = chunk.readUInt32BE(offset);
      if (!this.checkSize(size)) return;
      const start = offset + LENGTH_PREFIX_BYTES;
      if (start + size > len) {
        this.need = size;
        this.append(chunk, start, len);
        return;
      }
      offset = start + size;
      this.deliver(chunk.subarray(start, offset));
      if (this.failed) return;
    }
    if (offset < len) {
      chunk.copy((this.prefix ??= Buffer.alloc(LENGTH_PREFIX_BYTES)), 0, offset, len);
      this.prefixBytes = len - offset;
    }
  }

  /** Uses the start of `chunk` to finish a pending frame; returns the offset after it, or -1. */
  private completePending(chunk: Buffer): number {
    let offset = 0;
    if (this.need < 0) {
      const prefix = this.prefix!;
      offset = Math.min(LENGTH_PREFIX_BYTES - this.prefixBytes, chunk.length);
      chunk.copy(prefix, this.prefixBytes, 0, offset);
      this.prefixBytes += offset;
      if (this.prefixBytes < LENGTH_PREFIX_BYTES) return -1;
      this.prefixBytes = 0;
      const size = prefix.readUInt32BE(0);
      if (!this.checkSize(size)) return -1;
      this.need = size;
    }
    const end = offset + this.need - this.bodyBytes;
    if (chunk.length < end) {
      this.append(chunk, offset, chunk.length);
      return -1;
    }
    let frame: Buffer;
    if (this.bodyBytes === 0) {
      frame = chunk.subarray(offset, end);
    } else {
      this.append(chunk, offset, end);
      frame = this.body!; // exactly `need` bytes long once complete (see append)
    }
    this.body = null;
    this.bodyBytes = 0;
    this.need = -1;
    this.deliver(frame);
    if (this.failed) return -1;
    return end;
  }

  /** Copies `chunk[from, to)` to the body being gathered, growing it by doubling up to `need`. */
  private append(chunk: Buffer, from: number, to: number): void {
    if (to === from) return;
    const want = this.bodyBytes + to - from;
    let body = this.body;
    if (body === null || body.length < want) {
      const grown = Buffer.allocUnsafeSlow(Math.min(this.need, Math.max(want, body === null ? FIRST_RESERVE_BYTES : body.length * 2)));
      if (body !== null) body.copy(grown, 0, 0, this.bodyBytes);
      this.body = body = grown;
    }
    chunk.copy(body, this.bodyBytes, from, to);
    this.bodyBytes = want;
  }

  private deliver(frame: Buffer): void {
    this.decoded++;
    this.sink.onFrame(frame);
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
    this.body = null;
    this.bodyBytes = 0;
    this.prefixBytes = 0;
    this.need = -1;
    this.sink.onFramingError(err);
  }
}
