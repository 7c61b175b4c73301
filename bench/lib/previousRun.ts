/**
 * The bench report shows each target's ratio beside the one in the results file it replaces (the
 * committed run), so a change's effect is read off one report. The two runs were on different
 * days and loads: only ratios (each measured within its own run) are compared, never times.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The part of a bench target this comparison reads. */
export interface RatioCheck {
  target: string;
  ratio: number;
  limit: number;
}

/** What a report keeps of the run it replaced. */
export interface PreviousRun {
  date: string;
  git: string;
  /** Ratio by target name (the target's text before its limit, which may have changed since). */
  ratios: Record<string, number>;
  /** Messages per request by request name (the warm section's counting proxy). */
  messages: Record<string, number>;
}

/** The name a target keeps when its limit changes: 'warm create <= 2x bare …' → 'warm create'. */
export function targetName(target: string): string {
  return target.split(' <=')[0] ?? target;
}

/** Reads the results file a run is about to overwrite; undefined when there is none or it is unreadable. */
export function readPreviousRun(path: string): PreviousRun | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const report = JSON.parse(readFileSync(path, 'utf8')) as {
      date?: string;
      git?: string;
      checks?: RatioCheck[];
      warm?: { roundTrips?: Record<string, number> };
    };
    const ratios: Record<string, number> = {};
    for (const check of report.checks ?? []) ratios[targetName(check.target)] = check.ratio;
    return {
      date: report.date ?? '?',
      git: report.git ?? '?',
      ratios,
      messages: report.warm?.roundTrips ?? {},
    };
  } catch {
    return undefined;
  }
}

const shown = (value: number | undefined, digits: number, suffix = ''): string =>
  value === undefined ? '-' : `${value.toFixed(digits)}${suffix}`;

/** Markdown lines: every target and message count of this run beside the previous run's. */
export function renderAgainstPrevious(
  previous: PreviousRun,
  checks: RatioCheck[],
  messages: Record<string, number> | undefined,
): string[] {
  const lines = [
    `## Against the previous run (${previous.date}, git ${previous.git})`,
    '',
    'Each ratio was measured within its own run; the runs differ in day and load, so small moves are noise.',
    '',
    '| target | previous ratio | this run | limit |',
    '| --- | ---: | ---: | ---: |',
    ...checks.map(
      (c) =>
        `| ${targetName(c.target)} | ${shown(previous.ratios[targetName(c.target)], 3, 'x')} | ${c.ratio.toFixed(3)}x | ${c.limit}x |`,
    ),
    '',
  ];
  if (messages) {
    const names = [...new Set([...Object.keys(previous.messages), ...Object.keys(messages)])];
    lines.push(
      '| request | messages before | messages now |',
      '| --- | ---: | ---: |',
      ...names.map((n) => `| ${n} | ${shown(previous.messages[n], 1)} | ${shown(messages[n], 1)} |`),
      '',
    );
  }
  return lines;
}
