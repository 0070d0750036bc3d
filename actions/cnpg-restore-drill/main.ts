import * as core from '@actions/core';
import { run } from '../lib/drill/run.js';
await run(core);
