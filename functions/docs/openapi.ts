import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import document from '../../openapi.json' with { type: 'json' };
import { docsHeaders } from './docsResponses.ts';

// Serialised once per cold start; the bundler inlines the JSON, so nothing is read from disk.
const body = JSON.stringify(document);

/** GET /openapi.json: the API's OpenAPI document. Public. */
export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: docsHeaders('application/json', 'no-store'),
  body,
});
