import * as core from '@actions/core';
import { run } from '../lib/notify/run.js';
await run(core);
