import type { TestProject } from 'vitest/node';
import { isServerRelease } from '#dev/mongo/commands/server-version';
import { startEmbeddedMongo } from '#dev/mongo/index';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    /** True when the suite runs against the embedded server from dev/mongo. */
    embeddedMongo: boolean;
    /** The release the embedded server presents ('8.0' or '7.0'); undefined against an external server. */
    embeddedMongoVersion: string | undefined;
    /** Set by a project of vitest.config.ts that runs its files against an embedded server of this release. */
    embeddedMongoRelease: string | undefined;
  }
}

/**
 * Starts one embedded MongoDB for the whole run unless MONGODB_URI points at a real one.
 * Each test file then works in a database of its own (see tests/support/mongo.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.MONGODB_URI;
  if (external) {
    project.provide('mongoUri', external);
    project.provide('embeddedMongo', false);
    project.provide('embeddedMongoVersion', undefined);
    return async () => {};
  }
  // EMBEDDED_MONGO_VERSION=7.0 runs the whole suite against the server presenting MongoDB 7.0; a
  // project that names its release (vitest.config.ts) gets a server of that release of its own.
  const version = project.config.provide?.embeddedMongoRelease ?? process.env.EMBEDDED_MONGO_VERSION;
  if (version !== undefined && version !== '' && !isServerRelease(version))
    throw new Error(`EMBEDDED_MONGO_VERSION=${version}: the embedded server can be 8.0 or 7.0`);
  // Test commands on, as drivers' suites run mongod: the fail-point tests need configureFailPoint.
  const server = await startEmbeddedMongo({
    port: 0,
    enableTestCommands: true,
    ...(version ? { version } : {}),
  });
  project.provide('mongoUri', server.uri);
  project.provide('embeddedMongo', true);
  project.provide('embeddedMongoVersion', server.version);
  return () => server.stop();
}
