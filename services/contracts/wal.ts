/**
 * WAL positions as Postgres prints them (`pg_current_wal_lsn()`, `X/Y`: two hex halves), for
 * whoever compares them: the stubs' read-your-writes (a replica read waits for the user's last
 * write) and the region drill's RPO (how far DR's replay was behind the primary).
 */

/** A WAL position `X/Y` as one comparable number of bytes. */
export function lsnBytes(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}
