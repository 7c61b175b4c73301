/**
 * The floor for cold start: a Lambda handler that is nothing but the `mongodb` driver.
 * Bundled by bench/lib/build.ts with the same esbuild options as the functions.
 * GET /orders/{id} with a lazily opened client, no validation, no middleware, no logging.
 */
import { MongoClient } from 'mongodb';

let client: Promise<MongoClient> | undefined;

export async function handler(event: { pathParameters?: Record<string, string | undefined> }) {
  client ??= new MongoClient(process.env.MONGODB_URI ?? '', { maxPoolSize: 5 }).connect();
  const db = (await client).db(process.env.MONGODB_DATABASE || 'orders');
  const found = await db.collection<{ _id: string }>('orders').findOne({ _id: event.pathParameters?.id ?? '' });
  return found ? { statusCode: 200, body: JSON.stringify(found) } : { statusCode: 404 };
}
