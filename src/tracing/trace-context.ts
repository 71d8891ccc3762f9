import { randomBytes } from "node:crypto";

/** The W3C trace context of one request as a handler sees it (`ctx.trace`). */
export interface TraceContext {
  /** 32 hex digits, the same in every process the request passes through. */
  readonly traceId: string;
  /** 16 hex digits: this handler's own span (new in every process). */
  readonly spanId: string;
  /** The span of the caller (the gateway, or the calling module's handler). */
  readonly parentSpanId: string;
  /** The caller recorded its span (an exporter is on somewhere upstream). */
  readonly sampled: boolean;
  /** The `traceparent` value a call made from this handler carries (this span as the parent). */
  readonly traceparent: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** `traceparent` of version 00 from its parts. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/**
 * Parses a `traceparent` header (W3C Trace Context, version 00) and opens a new span under it;
 * null when absent or malformed (all-zero ids are invalid too).
 */
export function continueTrace(traceparent: string, ids: SpanIds): TraceContext | null {
  if (traceparent === "") return null;
  const m = TRACEPARENT.exec(traceparent);
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return null;
  const traceId = m[1]!;
  const sampled = (parseInt(m[3]!, 16) & 1) === 1;
  const spanId = ids.nextSpanId();
  return { traceId, spanId, parentSpanId: m[2]!, sampled, traceparent: formatTraceparent(traceId, spanId, sampled) };
}

/** "00" … "ff": a 32-bit counter becomes 8 hex digits with four lookups (Number#toString(16) took ~300 ns here). */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex8(n: number): string {
  return HEX_BYTE[(n >>> 24) & 255]! + HEX_BYTE[(n >>> 16) & 255]! + HEX_BYTE[(n >>> 8) & 255]! + HEX_BYTE[n & 255]!;
}

/**
 * Ids of one process, cheap enough to make for every request: a random prefix drawn once per
 * process followed by a 32-bit counter (no random bytes per request). Trace ids are 24 random
 * hex digits + 8 of counter, span ids 8 + 8; the counters wrap after 2^32 ids.
 */
export class SpanIds {
  private readonly tracePrefix = randomBytes(12).toString("hex");
  private readonly spanPrefix = randomBytes(4).toString("hex");
  private readonly rootHead = `00-${this.tracePrefix}`;
  private readonly rootMiddle = `-${this.spanPrefix}`;
  private traceCounter = 0;
  private spanCounter = 0;

  /** A whole `traceparent` of a new root span: what a gateway stamps when it records no span. */
  nextRootTraceparent(): string {
    this.traceCounter = (this.traceCounter + 1) >>> 0;
    this.spanCounter = (this.spanCounter + 1) >>> 0;
    return this.rootHead + hex8(this.traceCounter) + this.rootMiddle + hex8(this.spanCounter) + "-00";
  }

  nextTraceId(): string {
    this.traceCounter = (this.traceCounter + 1) >>> 0;
    return this.tracePrefix + hex8(this.traceCounter);
  }

  nextSpanId(): string {
    this.spanCounter = (this.spanCounter + 1) >>> 0;
    return this.spanPrefix + hex8(this.spanCounter);
  }
}
