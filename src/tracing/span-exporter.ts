import type { Logger } from "../log/logger.js";

/** One finished span, as the exporter sends it. */
export interface FinishedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  /** The route, e.g. "echo.Echo". */
  name: string;
  /** Wall-clock milliseconds (fractional) of start and end. */
  startMs: number;
  endMs: number;
  /** 0 on success, else the wire error code. */
  errorCode: number;
  /** Extra string attributes (e.g. switchyard.gateway). */
  attributes: Record<string, string>;
}

/** Where spans go (implemented by the OTLP exporter; absent when tracing export is off). */
export interface SpanSink {
  record(span: FinishedSpan): void;
  /** Sends what is buffered and stops. */
  close(): Promise<void>;
}

const FLUSH_MS = 1_000;
const BATCH = 512;
/** Spans buffered while the collector is slow or down; past it new spans are dropped (counted). */
const MAX_BUFFERED = 8_192;
const SPAN_KIND_SERVER = 2;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

/**
 * A minimal OTLP/HTTP JSON trace exporter: spans are buffered and POSTed to `url` (an
 * OpenTelemetry collector's /v1/traces) every second or every 512 spans, with `service.name`
 * "switchyard-<module>" and `service.instance.id`. Nothing of it exists while
 * `telemetry.otlpTracesUrl` is "" (no object, no timer): the only cost left is one null check.
 */
export class OtlpSpanExporter implements SpanSink {
  private readonly url: string;
  private readonly resource: object;
  private readonly log: Logger;
  private buffer: FinishedSpan[] = [];
  private readonly timer: NodeJS.Timeout;
  private sending: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(url: string, module: string, instance: string, log: Logger) {
    this.url = url;
    this.log = log;
    this.resource = { attributes: [attr("service.name", `switchyard-${module}`), attr("service.instance.id", instance)] };
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  record(span: FinishedSpan): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.buffer.push(span);
    if (this.buffer.length >= BATCH) this.flush();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    await this.sending;
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const spans = this.buffer;
    this.buffer = [];
    const body = JSON.stringify({ resourceSpans: [{ resource: this.resource, scopeSpans: [{ scope: { name: "switchyard" }, spans: spans.map(toOtlp) }] }] });
    this.sending = this.sending.then(() => this.post(body, spans.length));
  }

  private async post(body: string, count: number): Promise<void> {
    try {
      const res = await fetch(this.url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(5_000) });
      if (!res.ok) this.log.warn({ status: res.status, spans: count, url: this.url }, "the trace collector refused spans: check telemetry.otlpTracesUrl");
    } catch (err) {
      this.log.warn({ err: (err as Error).message, spans: count, dropped: this.dropped, url: this.url }, "cannot send spans to the trace collector: check telemetry.otlpTracesUrl");
    }
  }
}

function attr(key: string, value: string): object {
  return { key, value: { stringValue: value } };
}

function nanos(ms: number): string {
  return (BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1_000_000))).toString();
}

function toOtlp(s: FinishedSpan): object {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId !== "" ? { parentSpanId: s.parentSpanId } : {}),
    name: s.name,
    kind: SPAN_KIND_SERVER,
    startTimeUnixNano: nanos(s.startMs),
    endTimeUnixNano: nanos(s.endMs),
    attributes: Object.entries({ ...s.attributes, ...(s.errorCode !== 0 ? { "switchyard.error_code": String(s.errorCode) } : {}) }).map(([k, v]) => attr(k, v)),
    status: s.errorCode === 0 ? { code: STATUS_OK } : { code: STATUS_ERROR, message: `wire error code ${s.errorCode}` },
  };
}

/** The exporter of a process part, or null when `telemetry.otlpTracesUrl` is "" (off). */
export function createSpanSink(url: string, module: string, instance: string, log: Logger): SpanSink | null {
  return url === "" ? null : new OtlpSpanExporter(url, module, instance, log);
}

/** Wall-clock milliseconds with sub-millisecond precision. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
