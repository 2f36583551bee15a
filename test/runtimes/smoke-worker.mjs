// A worker thread of smoke.mjs: opens the semaphore its parent made, posts it.
import { workerData } from 'node:worker_threads';
import Semaphore from '../../esm/index.mjs';

const sem = new Semaphore(workerData.name, { create: false });
sem.post();
sem.close();
