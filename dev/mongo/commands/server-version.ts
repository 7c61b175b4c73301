/**
 * Which MongoDB release the embedded server presents itself as. 8.0 is the default (what new Atlas
 * clusters run); 7.0 stays selectable so the code paths a 7.0 deployment takes stay tested. Everything
 * that differs between the two is decided from the profile here, never from a version string elsewhere.
 */

/** The releases the embedded server can present itself as. */
export type ServerRelease = '7.0' | '8.0';

/** The releases, in the order of the `--version` flag's help text. */
export const SERVER_RELEASES: readonly ServerRelease[] = ['8.0', '7.0'];

/** What a release reports in hello/buildInfo/serverStatus and which of its behaviours apply. */
export interface ServerVersionProfile {
  release: ServerRelease;
  /** buildInfo.version and serverStatus.version: a real patch release of that line. */
  version: string;
  versionArray: [number, number, number, number];
  /** hello.maxWireVersion: 21 is 7.0, 25 is 8.0 (the driver's wire-version table). */
  maxWireVersion: number;
  /** The `bulkWrite` admin command (client-level bulk write), new in 8.0; 7.0 answers 59 CommandNotFound. */
  bulkWriteCommand: boolean;
  /** `sort` in an update statement (updateOne/replaceOne with sort), new in 8.0; 7.0 refuses the field (40415). */
  updateSort: boolean;
}

const PROFILES: Record<ServerRelease, ServerVersionProfile> = {
  '8.0': {
    release: '8.0',
    version: '8.0.4',
    versionArray: [8, 0, 4, 0],
    maxWireVersion: 25,
    bulkWriteCommand: true,
    updateSort: true,
  },
  '7.0': {
    release: '7.0',
    version: '7.0.15',
    versionArray: [7, 0, 15, 0],
    maxWireVersion: 21,
    bulkWriteCommand: false,
    updateSort: false,
  },
};

/** The default release: MongoDB 8.0. */
export const DEFAULT_RELEASE: ServerRelease = '8.0';

/** Whether `value` names a release the embedded server can present (`'8.0'`, `'7.0'`). */
export function isServerRelease(value: unknown): value is ServerRelease {
  return typeof value === 'string' && Object.hasOwn(PROFILES, value);
}

/** The profile of a release (the default one when `release` is undefined). */
export function serverVersionProfile(release: ServerRelease = DEFAULT_RELEASE): ServerVersionProfile {
  return PROFILES[release];
}
