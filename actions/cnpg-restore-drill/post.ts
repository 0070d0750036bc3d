import * as core from '@actions/core';
import { runPost } from '../lib/drill/post.js';
await runPost(core);
