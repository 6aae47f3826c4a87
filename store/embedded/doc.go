// Package embedded implements store.Store in one bbolt file, for a single
// machine (gust up). It has the same semantics as store/redis, including
// activation retention and KV ttls.
//
// # Layout
//
// One bucket per concern; namespaces and collections never contain NUL
// (store/internal/check), so NUL separates the parts of a key, and the last
// part needs no escaping. S8 is a big-endian uint64: Start, or an expiry,
// in epoch milliseconds, so keys sort by time.
//
//	meta                  "version" -> "1"
//	entities              ns NUL collection NUL name -> document
//	codes                 digest -> code
//	activations           ns NUL id -> S8(start) JSON record
//	activations.time      ns NUL S8(start) id -> ""            (list, newest first)
//	activations.name      ns NUL name NUL S8(start) id -> ""   (list by action name)
//	activations.expiry    S8(start) ns NUL id -> name          (sweeper)
//	activations.name.new  S8(sequence) -> activations.name key (see below)
//	identities            ns -> JSON identity
//	identities.uuid       uuid -> ns
//	kv                    ns NUL key -> S8(expiry, 0 = none) value
//	kv.expiry             S8(expiry) ns NUL key -> ""          (sweeper)
//
// activations, activations.time, activations.expiry and activations.name.new
// grow at their right end (activation ids are time-ordered), so commits split
// their pages full rather than at bbolt's default half: a store half the
// size, and a third fewer bytes written per record.
//
// # The name index, deferred
//
// A record's activations.name entry is first appended to activations.name.new,
// in the record's own transaction, and moved into activations.name by a later
// commit at most nameMoveEvery after, or before a list or count by name
// reads that index. The other buckets are appended to at their right end, as
// ids and start times grow; activations.name is not (each action has its
// range), so with many actions every commit dirtied a page of it per
// record: with 100 actions invoked round robin the store wrote 8.5 KB
// per record, against 3.9 KB deferred (gust bench many, write_bytes of
// /proc/<pid>/io). An entry whose record is gone when it moves (swept or
// replaced meanwhile) is dropped.
//
// # Expiry
//
// Reads hide activation records whose Start is a retention old and KV
// entries past their expiry; a sweeper goroutine owned by the Store deletes
// them every SweepInterval, in bounded transactions, and stops in Close.
//
// # Writes and durability
//
// All writes go through one committer goroutine, which takes every write
// queued while the previous transaction was committing and commits them as
// one transaction: an idle store commits a write at once, a busy one shares
// one fsync among up to maxBatch writers (group commit). A write returns when
// its transaction is committed, and by default fsynced: a record that
// PutActivation accepted survives a crash of the process or of the machine.
// Close drains the queue first. Options.NoSync skips the fsync: writes still
// survive a process crash or a clean shutdown (they are in the kernel's page
// cache), but a machine crash or power loss may lose the last ones or corrupt
// the file; use it only for data you can lose.
//
// Reads are bbolt read transactions: they never wait for writers, except
// while the file's memory map grows (beyond initialMmapSize).
package embedded
