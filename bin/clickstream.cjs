#!/usr/bin/env node
// `npx clickstream …`: the operator CLI (TypeScript, run through tsx).
// The AWS SDK warns on every run under Node 20 about its future Node 22 requirement: not an operator's concern here.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  if (String(text).includes('NodeVersionSupportWarning') || (rest[0] && (rest[0] === 'NodeVersionSupportWarning' || rest[0].type === 'NodeVersionSupportWarning'))) return;
  return emitWarning.call(process, warning, ...rest);
};
require('tsx/cjs');
require('../cli/main.ts');
