import { createSocket, type Socket } from 'node:dgram';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * The header and prefix the Lambda X-Ray endpoint expects for OTLP spans of a sampled trace, as
 * the ADOT Lambda layer sends them (its OTLPUdpSpanExporter): a JSON header line, `T1S`, then
 * the base64 of an OTLP protobuf ExportTraceServiceRequest, one datagram per export.
 */
const HEADER = '{"format":"json","version":1}\n';
const SAMPLED_TRACES_PREFIX = 'T1S';

/** Parses `AWS_XRAY_DAEMON_ADDRESS` (`169.254.79.129:2000`; Lambda sets it with active tracing). */
export function parseDaemonAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (colon < 1 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`AWS_XRAY_DAEMON_ADDRESS must be host:port, got '${address}'`);
  }
  return { host, port };
}

/**
 * Sends spans to the X-Ray endpoint of the Lambda sandbox over UDP, in the OTLP format of the ADOT
 * layer. Our own ~40 lines rather than a package: the only published exporter of this format
 * (`@aws/aws-distro-opentelemetry-exporter-xray-udp` 0.0.2) is built on the 1.x SDK, and the ADOT
 * distribution that carries a current one weighs 111 MB with every auto-instrumentation.
 * The socket opens on the first export, never at import. `export` reports success once the
 * datagram is handed to the kernel, so a flush at the end of an invocation has really sent it
 * before Lambda freezes the sandbox.
 */
export class XrayUdpSpanExporter implements SpanExporter {
  readonly #host: string;
  readonly #port: number;
  #connecting: Promise<Socket> | undefined;

  constructor(address: string) {
    ({ host: this.#host, port: this.#port } = parseDaemonAddress(address));
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const payload = ProtobufTraceSerializer.serializeRequest(spans);
    if (!payload || spans.length === 0) {
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    const message = Buffer.from(`${HEADER}${SAMPLED_TRACES_PREFIX}${Buffer.from(payload).toString('base64')}`);
    this.#connected().then(
      (socket) =>
        socket.send(message, (error) =>
          done(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS }),
        ),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
  }

  /** The socket, connected once to the endpoint: a send then skips resolving the address each time. */
  #connected(): Promise<Socket> {
    this.#connecting ??= new Promise<Socket>((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.unref();
      // A send error is reported to its callback; without this listener a late one would crash.
      socket.on('error', () => {});
      socket.connect(this.#port, this.#host, () => resolve(socket));
      socket.once('error', reject);
    }).catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  async shutdown(): Promise<void> {
    const connecting = this.#connecting;
    this.#connecting = undefined;
    const socket = await connecting?.catch(() => undefined);
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  async forceFlush(): Promise<void> {}
}
