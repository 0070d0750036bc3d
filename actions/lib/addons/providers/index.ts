// Backend per variant kind.
import type { Backend } from '../types.js';
import type { BackendImpl } from './backend.js';
import { dedicated } from './cnpg-dedicated.js';
import { shared } from './cnpg-shared.js';
import { remote } from './remote.js';

export const BACKENDS: Record<Backend, BackendImpl> = { dedicated, shared, remote };
