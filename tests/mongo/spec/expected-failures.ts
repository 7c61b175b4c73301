/**
 * Spec tests known to fail against the embedded server, each group with its reason. The spec run
 * fails on a failure not listed here and on a listed test that passes, so this list stays true.
 */
export interface ExpectedFailureGroup {
  /** `folder/file.json` */
  file: string;
  /** Why these fail (most: refused on purpose, with a MongoDB-shaped error). */
  reason: string;
  /** Test descriptions. */
  tests: string[];
}

export const expectedFailures: ExpectedFailureGroup[] = [
  {
    file: 'crud/client-bulkWrite-update-validation.json',
    reason: 'driver: the Node driver does not validate client bulk write models before sending',
    tests: [
      'client bulkWrite replaceOne prohibits atomic modifiers',
      'client bulkWrite updateOne requires atomic modifiers',
      'client bulkWrite updateMany requires atomic modifiers',
    ],
  },
  {
    file: 'crud/create-null-ids.json',
    reason: 'driver: the Node driver replaces a null _id with a new ObjectId before inserting',
    tests: [
      'inserting _id with type null via insertOne',
      'inserting _id with type null via insertMany',
      'inserting _id with type null via bulkWrite',
    ],
  },
  {
    file: 'collection-management/modifyCollection-errorResponse.json',
    reason: 'refused on purpose: collMod prepareUnique/unique conversion and validators (115 CommandNotSupported)',
    tests: ['modifyCollection prepareUnique violations are accessible'],
  },
  {
    file: 'crud/findOneAndUpdate-errorResponse.json',
    reason: 'refused on purpose: collMod prepareUnique/unique conversion and validators (115 CommandNotSupported)',
    tests: ['findOneAndUpdate document validation errInfo is accessible'],
  },
  {
    file: 'crud/aggregate-let.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['Aggregate to collection with let option'],
  },
  {
    file: 'crud/aggregate-merge-errorResponse.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['aggregate $merge DuplicateKey error is accessible'],
  },
  {
    file: 'crud/aggregate-merge.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: [
      'Aggregate with $merge',
      'Aggregate with $merge and batch size of 0',
      'Aggregate with $merge and majority readConcern',
      'Aggregate with $merge and local readConcern',
      'Aggregate with $merge and available readConcern',
    ],
  },
  {
    file: 'crud/aggregate-out-readConcern.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: [
      'readConcern majority with out stage',
      'readConcern local with out stage',
      'readConcern available with out stage',
    ],
  },
  {
    file: 'crud/aggregate-out.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['Aggregate with $out', 'Aggregate with $out and batch size of 0'],
  },
  {
    file: 'crud/aggregate-write-readPreference.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: [
      'Aggregate with $out includes read preference for 5.0+ server',
      'Aggregate with $merge includes read preference for 5.0+ server',
    ],
  },
  {
    file: 'crud/bypassDocumentValidation.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['Aggregate with $out passes bypassDocumentValidation: false'],
  },
  {
    file: 'crud/db-aggregate-write-readPreference.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: [
      'Database-level aggregate with $out includes read preference for 5.0+ server',
      'Database-level aggregate with $merge includes read preference for 5.0+ server',
    ],
  },
  {
    file: 'read-write-concern-operation/default-write-concern-3.4.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['Aggregate with $out omits default write concern'],
  },
  {
    file: 'read-write-concern-operation/default-write-concern-4.2.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['Aggregate with $merge omits default write concern'],
  },
  {
    file: 'retryable-writes/aggregate-out-merge.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['aggregate with $out does not set txnNumber', 'aggregate with $merge does not set txnNumber'],
  },
  {
    file: 'unified-test-format-valid-pass/poc-crud.json',
    reason: 'refused on purpose: $out/$merge aggregation stages (115 CommandNotSupported)',
    tests: ['readConcern majority with out stage'],
  },
  {
    file: 'run-command/runCursorCommand.json',
    reason: 'refused on purpose: capped collections (115 CommandNotSupported)',
    tests: ['does not close the cursor when receiving an empty batch'],
  },
  {
    file: 'unified-test-format-valid-pass/collectionData-createOptions.json',
    reason: 'refused on purpose: capped collections (115 CommandNotSupported)',
    tests: ['collection is created with the correct options'],
  },
  {
    file: 'collection-management/clustered-indexes.json',
    reason: 'refused on purpose: clustered collections (115 CommandNotSupported)',
    tests: [
      'createCollection with clusteredIndex',
      'listCollections includes clusteredIndex',
      'listIndexes returns the index',
    ],
  },
  {
    file: 'crud/aggregate-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['Aggregate with collation'],
  },
  {
    file: 'crud/bulkWrite-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['BulkWrite with delete operations and collation', 'BulkWrite with update operations and collation'],
  },
  {
    file: 'crud/count-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['Count documents with collation', 'Deprecated count with collation'],
  },
  {
    file: 'crud/deleteMany-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['DeleteMany when many documents match with collation'],
  },
  {
    file: 'crud/deleteOne-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['DeleteOne when many documents matches with collation'],
  },
  {
    file: 'crud/distinct-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['Distinct with a collation'],
  },
  {
    file: 'crud/find-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['Find with a collation'],
  },
  {
    file: 'crud/findOneAndDelete-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['FindOneAndDelete when one document matches with collation'],
  },
  {
    file: 'crud/findOneAndReplace-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['FindOneAndReplace when one document matches with collation returning the document after modification'],
  },
  {
    file: 'crud/findOneAndUpdate-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['FindOneAndUpdate when many documents match with collation returning the document before modification'],
  },
  {
    file: 'crud/replaceOne-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['ReplaceOne when one document matches with collation'],
  },
  {
    file: 'crud/updateMany-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['UpdateMany when many documents match with collation'],
  },
  {
    file: 'crud/updateOne-collation.json',
    reason: 'refused on purpose: collation other than simple (115 CommandNotSupported)',
    tests: ['UpdateOne when one document matches with collation'],
  },
  {
    file: 'command-monitoring/find.json',
    reason: 'refused on purpose: find returnKey/showRecordId/min/max (115 CommandNotSupported)',
    tests: ['A successful find with options', 'A successful find with showRecordId and returnKey'],
  },
  {
    file: 'collection-management/timeseries-collection.json',
    reason: 'refused on purpose: time series collections (115 CommandNotSupported)',
    tests: [
      'createCollection with all options',
      'insertMany with duplicate ids',
      'createCollection with bucketing options',
    ],
  },
  {
    file: 'crud/estimatedDocumentCount.json',
    reason: 'refused on purpose: views (115 CommandNotSupported)',
    tests: ['estimatedDocumentCount works correctly on views'],
  },
  {
    file: 'transactions/run-command.json',
    reason: 'topology: readPreference secondary needs a secondary, and a single-node replica set has none',
    tests: [
      'run command with secondary read preference in client option and primary read preference in transaction options',
    ],
  },
  {
    file: 'transactions/transaction-options.json',
    reason: 'topology: readPreference secondary needs a secondary, and a single-node replica set has none',
    tests: ['readPreference inherited from client'],
  },
];
