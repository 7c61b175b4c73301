import type { AppConfig } from '#lib/config';
import { withClientSpan } from '#lib/observability/tracing';

let pending: Promise<string> | undefined;

/**
 * The MongoDB connection string: MONGODB_URI when set, otherwise the SecureString named by
 * MONGODB_URI_PARAMETER, read from SSM Parameter Store once per container and cached.
 * The SDK is imported only on that path, so containers configured with MONGODB_URI never load it.
 */
export function resolveConnectionString(settings: AppConfig): Promise<string> {
  if (settings.mongodbUri) return Promise.resolve(settings.mongodbUri);
  const parameterName = settings.mongodbUriParameter;
  if (!parameterName) {
    return Promise.reject(new Error('Neither MONGODB_URI nor MONGODB_URI_PARAMETER is configured'));
  }
  pending ??= readSecureString(parameterName).catch((error: unknown) => {
    // A failed read must not poison the container: the next request tries again.
    pending = undefined;
    throw error;
  });
  return pending;
}

/** One SSM span covers the SDK's import (on the first read of a container), the call and the decryption. */
function readSecureString(name: string): Promise<string> {
  // The parameter's name is on the span, its value never is.
  const attributes = {
    'rpc.system': 'aws-api',
    'rpc.service': 'SSM',
    'rpc.method': 'GetParameter',
    'aws.ssm.parameter.name': name,
  };
  return withClientSpan('SSM.GetParameter', attributes, async () => {
    const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
    const ssm = new SSMClient({});
    const output = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = output.Parameter?.Value;
    if (!value) throw new Error(`SSM parameter ${name} has no value`);
    return value;
  });
}

/** Forgets the cached connection string (tests switch parameters between cases). */
export function resetConnectionStringCache(): void {
  pending = undefined;
}
