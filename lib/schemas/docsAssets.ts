/**
 * The reference page's file names, apart from their TypeBox schema (docs.ts), so the docs function
 * carries no schema builder.
 */

/** The files of the reference page that GET /docs/{asset} serves, bundled with the docs function. */
export const DOCS_ASSET_NAMES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-initializer.js'] as const;

/** One of the reference page's files. */
export type DocsAssetName = (typeof DOCS_ASSET_NAMES)[number];
