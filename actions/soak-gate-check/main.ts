import * as core from '@actions/core';
import { run } from '../lib/soak/run.js';
await run(core);
