import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderValidatorDeclarations, renderValidatorModule, validatorModules } from '../../scripts/validatorModule.ts';

describe('precompiled validators', () => {
  it.each(validatorModules.map((module) => [module.file, module] as const))(
    '%s is what the schemas generate (run npm run build:validators after changing lib/schemas)',
    (file, module) => {
      const committed = readFileSync(new URL(`../../lib/schemas/generated/${file}`, import.meta.url), 'utf8');
      expect(committed).toBe(renderValidatorModule(module));
      const declarations = readFileSync(
        new URL(`../../lib/schemas/generated/${file.replace(/\.js$/, '.d.ts')}`, import.meta.url),
        'utf8',
      );
      expect(declarations).toBe(renderValidatorDeclarations(module));
    },
  );

  it('import nothing at run time: the ajv runtime helpers are bundled in', () => {
    for (const { file } of validatorModules) {
      const source = readFileSync(new URL(`../../lib/schemas/generated/${file}`, import.meta.url), 'utf8');
      expect(source).not.toMatch(/^import /m);
      // ajv keeps a require(...) only as a string (its code property), never as a call.
      expect(source).not.toMatch(/[^'"\w]require\(/);
    }
  });
});
