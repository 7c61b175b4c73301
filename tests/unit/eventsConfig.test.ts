import { describe, expect, it } from 'vitest';
import { readConfig } from '#lib/config';

describe('the event bus setting', () => {
  it('publishes to EVENT_BUS_NAME on Lambda, and nowhere without it', () => {
    expect(readConfig({ EVENT_BUS_NAME: 'orders-prod' }).eventBusName).toBe('orders-prod');
    expect(readConfig({}).eventBusName).toBeUndefined();
    expect(readConfig({ EVENT_BUS_NAME: '' }).eventBusName).toBeUndefined();
  });

  it('under serverless-offline publishes only to a stand-in endpoint, never to AWS', () => {
    expect(readConfig({ EVENT_BUS_NAME: 'orders-dev', IS_OFFLINE: 'true', AUTH_MODE: 'local' }).eventBusName).toBe(
      undefined,
    );
    expect(
      readConfig({
        EVENT_BUS_NAME: 'orders-dev',
        IS_OFFLINE: 'true',
        AUTH_MODE: 'local',
        AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4010',
      }).eventBusName,
    ).toBe('orders-dev');
  });
});
