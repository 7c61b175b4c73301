import { Type } from '@sinclair/typebox';

/** The files of the reference page that GET /docs/{asset} serves, bundled with the docs function. */
export const DOCS_ASSET_NAMES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-initializer.js'] as const;

/** One of the reference page's files. */
export type DocsAssetName = (typeof DOCS_ASSET_NAMES)[number];

/** Path parameters of GET /docs/{asset}: one of the bundled files (any other name is a 404). */
export const DocsAssetPathParameters = Type.Object(
  // A plain enum reads better in the reference page than an anyOf of constants.
  { asset: Type.Unsafe<DocsAssetName>({ type: 'string', enum: [...DOCS_ASSET_NAMES] }) },
  { additionalProperties: false },
);
