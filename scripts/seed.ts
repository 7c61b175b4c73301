/**
 * `npm run seed`: loads the assignment's sample services and orders through the running API
 * (BASE_URL, default http://localhost:$PORT or 3000), with TOKEN or else a token from the
 * local development issuer that `npm start` trusts. Idempotent: a record that already exists
 * with the same content is left alone, so a second run changes nothing and fails nothing.
 * The records are lib/schemas/samples.ts, which the OpenAPI examples refer to.
 */
import { DEV_ISSUER_KEY_PATH, loadOrCreateIssuerKeys, signToken } from '#dev/auth/devIssuer';
import { SAMPLE_ORDERS, SAMPLE_SERVICES } from '#lib/schemas/samples';

const base = process.env.BASE_URL ?? `http://localhost:${process.env.PORT ?? 3000}`;

const token = process.env.TOKEN ?? (await signToken(await loadOrCreateIssuerKeys(DEV_ISSUER_KEY_PATH)));
const authorization = { authorization: `Bearer ${token}` };

const services = SAMPLE_SERVICES;
const orders = SAMPLE_ORDERS;

/** Creates a record, or confirms the stored one matches it. Returns false when it cannot. */
async function ensure(collection: string, record: { id: string } & Record<string, unknown>): Promise<boolean> {
  const created = await fetch(`${base}/${collection}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization },
    body: JSON.stringify(record),
  });
  if (created.status === 201) {
    console.log(`created ${collection}/${record.id}`);
    return true;
  }
  const stored = await fetch(`${base}/${collection}/${record.id}`, { headers: authorization });
  if (stored.status === 200) {
    const body = (await stored.json()) as Record<string, unknown>;
    const same = Object.entries(record).every(([key, value]) =>
      key === 'datetime'
        ? Date.parse(String(body[key])) === Date.parse(String(value))
        : JSON.stringify(body[key]) === JSON.stringify(value),
    );
    console.log(
      same
        ? `kept ${collection}/${record.id} (already there)`
        : `differs: ${collection}/${record.id} exists with other content`,
    );
    return same;
  }
  console.error(`could not seed ${collection}/${record.id}: ${created.status} ${await created.text()}`);
  return false;
}

let ok = true;
for (const service of services) ok = (await ensure('services', service)) && ok;
for (const order of orders) ok = (await ensure('orders', order)) && ok;
process.exitCode = ok ? 0 : 1;
