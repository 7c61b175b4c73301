/**
 * Swagger UI's files, embedded in the docs function's bundle as text (esbuild's `text`
 * import attribute), so the page needs no CDN and the Lambda package needs no node_modules.
 * Only the bundler can load this module: the page handler imports it lazily, when a file is
 * asked for, so tests that render the page itself never load it.
 */

import swaggerUiCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'text' };
import swaggerUiBundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'text' };

/** Drops the trailing sourceMappingURL comment: the map is not served, so browsers would 404 on it. */
function withoutSourceMap(source: string): string {
  return source.replace(/\n\/[/*]# sourceMappingURL=\S+\s*(?:\*\/)?\s*$/, '\n');
}

/** Swagger UI's script and style sheet. */
export const swaggerUiFiles = {
  'swagger-ui-bundle.js': withoutSourceMap(swaggerUiBundle),
  'swagger-ui.css': withoutSourceMap(swaggerUiCss),
};
