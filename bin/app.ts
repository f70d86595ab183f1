#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../lib/buildApp';
import { ConfigError } from '../lib/config/load';

const app = new App();
try {
  buildApp(app);
} catch (e) {
  // buildApp printed the message (field and fix); a stack trace would only bury it.
  if (e instanceof ConfigError) process.exit(1);
  throw e;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
