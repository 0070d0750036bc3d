import * as core from '@actions/core';
import { runPost } from '../lib/drill/run.js';
await runPost(core);
