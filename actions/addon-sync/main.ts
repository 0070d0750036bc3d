import * as core from '@actions/core';
import { run } from '../lib/addons/run.js';
await run(core);
