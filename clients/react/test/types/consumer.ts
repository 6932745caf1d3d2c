// Type-checked by `npm run typecheck`, never run: a component using the shipped .d.ts files.

import { createClient } from '@syncd/client';
import type { SyncRecord, SyncStatus } from '@syncd/client';
import { useRecord, useRecords, useSyncStatus } from '@syncd/react';

const client = createClient({ url: 'https://sync.example.com', token: 'jwt' });

export function Users(props: { selected?: string }): string {
  const status: SyncStatus = useSyncStatus(client);
  const users: readonly SyncRecord[] = useRecords(client, 'end_user');
  const one: SyncRecord | undefined = useRecord(client, 'end_user', props.selected);
  return `${status.pending} ${users.length} ${one?.id ?? ''}`;
}
