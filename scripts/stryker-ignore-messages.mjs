// @ts-check
// A Stryker ignorer: no mutants inside the arguments of `new SomethingError(…)`. Those are the
// wording of error messages, which the tests check where it matters (file, line, what to do); a
// mutant per word of every message would triple the run and say nothing about safety. Mutants
// that remove a throw, or change the condition around it, are still made.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'error-messages', {
    /** @param {any} path a Babel NodePath */
    shouldIgnore(path) {
      const node = path.node;
      if (node?.type === 'NewExpression' && node.callee?.type === 'Identifier' && /Error$/.test(node.callee.name)) {
        return 'the wording of an error message';
      }
      return undefined;
    },
  }),
];
