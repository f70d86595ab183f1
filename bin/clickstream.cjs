#!/usr/bin/env node
// `npx clickstream …`: the operator CLI (TypeScript, run through tsx).
// The AWS SDK warns under Node 20 that its versions after January 2027 will need Node 22; the
// SDK is pinned below that, so the warning does not apply (README, "Node version").
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
require('tsx/cjs');
require('../cli/main.ts');
