/** Renders section 5 of the report (bench/phases/tracing.ts): the cost of tracing, in-bundle against the ADOT layer. */
import type { TracingResults } from '../phases/tracing.ts';

const ms = (x: number) => x.toFixed(1);
const ratio = (x: number) => `${x.toFixed(2)}x`;

function table(header: string[], rows: (string | number)[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** Markdown lines of the tracing section; none when the section did not run. */
export function renderTracing(tracing: TracingResults | undefined): string[] {
  if (!tracing) return [];
  const { settings } = tracing;
  return [
    '## 5. Tracing: in-bundle OpenTelemetry against the ADOT Lambda layer (stand-in), getOrder',
    '',
    `Reference: the same function with lib/observability/tracing.ts stubbed out (what-if). Layer rows: ${tracing.adotPackage ?? `not measured (${tracing.standInError})`}, bundled and started as the layer does on Node 24 (\`--import\` wrapper with import-in-the-middle's hook, the layer's OTEL_* environment), bench/lib/adotStandIn.ts. Ratios: median over rounds of the within-round ratio to the reference.`,
    '',
    `Cold (${settings.coldRounds} fresh processes per variant, interleaved): import = the handler's import only; ready = process start to handler in hand (a layer works before the import, so this is the figure to compare); CPU = CPU time of the process (the import alone, or everything from process start), which the machine's other load barely affects: on a busy machine trust it over the wall-clock columns.`,
    '',
    ...table(
      [
        'variant',
        'bundle KB',
        'import ms',
        'import ratio',
        'ready ms',
        'ready ratio',
        'import CPU ms',
        'import CPU ratio',
        'ready CPU ms',
        'ready CPU ratio',
        'wall ms',
        'RSS MiB',
      ],
      tracing.cold.map((r) => [
        r.name,
        (r.bundleBytes / 1000).toFixed(1),
        ms(r.importMs.median),
        ratio(r.importRatio),
        ms(r.readyMs.median),
        ratio(r.readyRatio),
        ms(r.importCpuMs),
        ratio(r.importCpuRatio),
        ms(r.readyCpuMs),
        ratio(r.readyCpuRatio),
        ms(r.wallMs.median),
        r.rssMiB,
      ]),
    ),
    '',
    `Containers (${settings.containerRounds} rounds x one process per variant, against the embedded MongoDB): the first invocation (connection, indexes, tracer set-up, first export), then ${settings.iterations} warm GETs after ${settings.warmup} untimed, every one sampled, spans sent over UDP to a stub X-Ray endpoint that counts them.`,
    '',
    ...table(
      [
        'variant',
        'first invocation ms',
        'first ratio',
        'first CPU ms',
        'warm median ms',
        'warm ratio',
        'warm p95 ms',
        'p95 ratio',
        'warm CPU ms / invocation',
        'CPU ratio',
        'datagrams / invocation',
        'bytes / datagram',
        'RSS MiB',
      ],
      tracing.containers.map((r) => [
        r.name,
        ms(r.firstInvocationMs),
        ratio(r.firstInvocationRatio),
        ms(r.firstInvocationCpuMs),
        r.warm.median.toFixed(3),
        ratio(r.warmRatio),
        r.warm.p95.toFixed(3),
        ratio(r.warmP95Ratio),
        r.warmCpuPerInvocationMs.toFixed(3),
        ratio(r.warmCpuRatio),
        r.datagramsPerInvocation,
        r.bytesPerDatagram,
        r.rssMiB,
      ]),
    ),
    '',
  ];
}
