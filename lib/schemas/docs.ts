import { Type } from '@sinclair/typebox';
import { DOCS_ASSET_NAMES, type DocsAssetName } from './docsAssets.ts';

export { DOCS_ASSET_NAMES, type DocsAssetName } from './docsAssets.ts';

/** Path parameters of GET /docs/{asset}: one of the bundled files (any other name is a 404). */
export const DocsAssetPathParameters = Type.Object(
  // A plain enum reads better in the reference page than an anyOf of constants.
  { asset: Type.Unsafe<DocsAssetName>({ type: 'string', enum: [...DOCS_ASSET_NAMES] }) },
  { additionalProperties: false },
);
