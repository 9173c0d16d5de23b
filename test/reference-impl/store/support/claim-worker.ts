// A worker thread with its own connection to a provider store file: it waits for the shared start
// signal, then claims bob's keys `claims` times as fast as it can and posts the Kyber key ids it
// was handed (the race test of spec/keys.md KEYS-029 in ../sqlite.test.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from '../../../../reference-impl/store/index.ts';

const { path, address, claims, start } = workerData as {
  path: string;
  address: string;
  claims: number;
  start: SharedArrayBuffer;
};
const store = openSqliteStore(path);
const signal = new Int32Array(start);
Atomics.add(signal, 1, 1);
Atomics.wait(signal, 0, 0);
const served: { keyId: number; lastResort: boolean }[] = [];
for (let i = 0; i < claims; i++) {
  const [bundle] = store.claimKeys(address, undefined);
  served.push({ keyId: bundle!.kyberPreKey.keyId, lastResort: bundle!.kyberLastResort });
}
store.close();
parentPort!.postMessage(served);
