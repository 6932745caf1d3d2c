// Type-checked by `npm run typecheck`, never run: a TypeScript app using the shipped .d.ts files
// through the package's own exports, as a consumer would.

import { createClient, indexedDbStorage, memoryStorage, RealtimeSync, SyncClient, SyncError } from '@syncd/client';
import type { ClientOptions, SyncRecord, SyncStatus, SyncStorage } from '@syncd/client';
import { fileStorage } from '@syncd/client/node';

const storage: SyncStorage = Math.random() > 0.5 ? memoryStorage() : fileStorage('/tmp/app');
const options: ClientOptions = {
  url: 'https://sync.example.com',
  getToken: async () => 'jwt',
  clientId: 'app-1',
  storage,
  entityTypes: ['end_user'],
};
const client = createClient(options);

export async function app(): Promise<void> {
  await client.start();
  const user: SyncRecord = await client.put('end_user', { name: 'Ada' });
  const id: string = user.id;
  await client.update('end_user', id, { phone: '555' });
  const again: SyncRecord | undefined = await client.get('end_user', id);
  const all: SyncRecord[] = await client.list('end_user');
  const count: number = await client.pending();
  const status: SyncStatus = client.status;
  const online: boolean = status.online && status.connected && !status.syncing;
  const last: number | null = status.lastSyncAt;
  const off = client.on('change', (e) => {
    const origin: 'local' | 'remote' = e.origin;
    const r: SyncRecord | undefined = e.record;
    void origin, r;
  });
  client.on('rejected', (e) => {
    const err: SyncError = e.error;
    void err.status, err.code, err.details, e.change.seq;
  });
  client.on('conflict', (e) => void e.result.status);
  client.on('status', (s) => void s.pending);
  off();
  await client.sync();
  await client.remove('end_user', id);
  await client.stop();
  void again, all, count, online, last, indexedDbStorage('db');

  const seed = new SyncClient('https://sync.example.com', 'jwt');
  await seed.pushChanges({ end_user: [{ name: 'John' }] });
  const pulled = await seed.pullData(['end_user']);
  void pulled.data.end_user;
  const rt = new RealtimeSync({ url: 'https://sync.example.com', token: 'jwt', clientId: 'c' });
  const unsubscribe = rt.subscribe('end_user', (u) => void u.action);
  rt.connect();
  unsubscribe();
  rt.disconnect();
}
