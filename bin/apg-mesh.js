#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
process.env.APG_MESH_CLI = '1';
await import('../src/cli.ts');
