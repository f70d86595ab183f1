#!/usr/bin/env node
// `npx clickstream …`: the operator CLI (TypeScript, run through tsx).
require('tsx/cjs');
require('../cli/main.ts');
