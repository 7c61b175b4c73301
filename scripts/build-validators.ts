/**
 * Compiles the request schemas in lib/schemas into standalone ajv validators
 * (lib/schemas/generated/*.js), so a cold start imports plain functions instead of
 * compiling schemas. Run by `npm run build:validators`; a test fails when the committed
 * output differs from what the schemas generate.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderValidatorDeclarations, renderValidatorModule, validatorModules } from './validatorModule.ts';

for (const module of validatorModules) {
  const target = fileURLToPath(new URL(`../lib/schemas/generated/${module.file}`, import.meta.url));
  writeFileSync(target, renderValidatorModule(module));
  writeFileSync(target.replace(/\.js$/, '.d.ts'), renderValidatorDeclarations(module));
  console.log(`wrote ${target} and its .d.ts`);
}
