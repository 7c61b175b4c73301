import type { TestProject } from 'vitest/node';
import { startEmbeddedMongo } from '#dev/mongo/index';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    /** True when the suite runs against the embedded server from dev/mongo. */
    embeddedMongo: boolean;
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
    return async () => {};
  }
  // Test commands on, as drivers' suites run mongod: the fail-point tests need configureFailPoint.
  const server = await startEmbeddedMongo({ port: 0, enableTestCommands: true });
  project.provide('mongoUri', server.uri);
  project.provide('embeddedMongo', true);
  return () => server.stop();
}
