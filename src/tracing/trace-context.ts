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

/** 2^52: added to a counter (below 2^52), its hex form is "1" and 13 digits: fixed width, no padding. */
const TRACE_WIDTH = 0x10000000000000;
/** 2^32: the same for 8 digits of a 32-bit counter. */
const SPAN_WIDTH = 0x100000000;

/**
 * Ids of one process, cheap enough to make for every request: a random prefix drawn once per
 * process followed by a counter (no random bytes per request). Trace ids are 19 random hex
 * digits + 13 of counter, span ids 8 + 8 (the counter wraps; span ids need only differ within a
 * trace), so two processes do not collide in practice.
 */
export class SpanIds {
  private readonly tracePrefix = randomBytes(10).toString("hex").slice(1);
  private readonly spanPrefix = randomBytes(4).toString("hex");
  private readonly rootHead = `00-${this.tracePrefix}`;
  private readonly rootMiddle = `-${this.spanPrefix}`;
  private traceCounter = 0;
  private spanCounter = 0;

  /** A whole `traceparent` of a new root span: what a gateway stamps when it records no span. */
  nextRootTraceparent(): string {
    return this.rootHead + this.traceCounterHex() + this.rootMiddle + this.spanCounterHex() + "-00";
  }

  nextTraceId(): string {
    return this.tracePrefix + this.traceCounterHex();
  }

  nextSpanId(): string {
    return this.spanPrefix + this.spanCounterHex();
  }

  private traceCounterHex(): string {
    return (TRACE_WIDTH + ++this.traceCounter).toString(16).slice(1);
  }

  private spanCounterHex(): string {
    this.spanCounter = (this.spanCounter + 1) >>> 0;
    return (SPAN_WIDTH + this.spanCounter).toString(16).slice(1);
  }
}
