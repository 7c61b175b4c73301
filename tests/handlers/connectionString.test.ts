import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '#lib/config';
import { resetConnectionStringCache, resolveConnectionString } from '#lib/db/connectionString';

const ssm = mockClient(SSMClient);

afterEach(() => {
  ssm.reset();
  resetConnectionStringCache();
});

describe('the MongoDB connection string', () => {
  it('comes from MONGODB_URI when set, without asking SSM', async () => {
    const uri = await resolveConnectionString(readConfig({ MONGODB_URI: 'mongodb://db.example:27017' }));
    expect(uri).toBe('mongodb://db.example:27017');
    expect(ssm.calls()).toHaveLength(0);
  });

  it('is read once per container from an SSM SecureString, with decryption', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/oms/dev/uri', Value: 'mongodb+srv://from-ssm' } });
    const settings = readConfig({ MONGODB_URI_PARAMETER: '/oms/dev/uri' });
    expect(await resolveConnectionString(settings)).toBe('mongodb+srv://from-ssm');
    expect(await resolveConnectionString(settings)).toBe('mongodb+srv://from-ssm');
    const calls = ssm.commandCalls(GetParameterCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ Name: '/oms/dev/uri', WithDecryption: true });
  });

  it('tries SSM again on the next request after a failed read', async () => {
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ Parameter: { Value: 'mongodb://second' } });
    const settings = readConfig({ MONGODB_URI_PARAMETER: '/oms/dev/uri' });
    await expect(resolveConnectionString(settings)).rejects.toThrow('throttled');
    expect(await resolveConnectionString(settings)).toBe('mongodb://second');
  });

  it('fails clearly when neither setting is present', async () => {
    await expect(resolveConnectionString(readConfig({}))).rejects.toThrow(/MONGODB_URI/);
  });
});
