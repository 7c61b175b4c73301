/** Which namespaces accept writes: not views (166), not capped collections inside a transaction (263). */

import { rejectView } from '../query/views.ts';
import { rejectCappedWriteInTransaction } from '../storage/capped.ts';
import type { Collection } from '../storage/engine.ts';

/** Throws mongod's error when `coll` may not be written here (it may be absent: nothing to refuse). */
export function rejectWriteTo(coll: Collection | undefined, inTransaction: boolean): void {
  if (!coll) return;
  rejectView(coll);
  rejectCappedWriteInTransaction(coll.ns, coll.options, inTransaction);
}
