import * as core from '@actions/core';
import { run } from '../lib/platform/run.js';

await run(core);
