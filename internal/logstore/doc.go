// Package logstore is Ferry's durable log storage: an append-only,
// replayable sequence of records numbered from 1, kept in segment files
// (FileLog, the default) or in memory (MemoryLog). It has no networking and
// knows nothing of the broker; docs/logs.md describes the on-disk format.
//
// Invariants:
//   - Sequence numbers are dense and increasing; a record's Time never goes
//     backwards (an earlier time is raised to the previous record's).
//   - Append returns only after the record is as durable as the sync policy
//     promises; with SyncAlways that is after an fsync covering it succeeded.
//     A record becomes visible to readers at the same moment.
//   - A failed write or fsync is never retried and acknowledged: the log
//     turns read-only, every pending and later Append fails with ErrReadOnly,
//     and reads keep working.
//   - Recovery truncates only the torn tail of the last segment. Damage in a
//     sealed segment is reported (State.Damaged, ErrCorrupt) and the valid
//     records after it stay readable.
//   - Retention removes whole sealed segments, never the active one, and
//     never a record among the newest ones the limits keep.
package logstore
