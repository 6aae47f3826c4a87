// Package redis implements store.Store on Redis 6.2 or newer, standalone or
// through Sentinel (a master_name parameter in the URL). Redis Cluster is not
// supported: its hash slots would split the multi-key transactions below.
//
// # Key layout
//
// Every key starts with Options.Prefix (default "gust:"), written P below.
// Namespaces never contain ':' (store/internal/check), and the part after
// the last fixed separator (entity name, activation id, action name, uuid,
// KV key) may contain anything, so no key can be read as another.
//
//	P e:<ns>:<collection>:<name>  string  entity document (opaque JSON)
//	P ei:<ns>:<collection>        zset    names of the collection's entities,
//	                                      all scored 0, so ZRANGE BYLEX lists
//	                                      them by name and by name prefix
//	P c:<digest>                  string  action code, by hex SHA-256; written
//	                                      once (SET NX), never expires
//	P a:<ns>:<id>                 string  activation record (JSON), expiring
//	                                      at Start + retention (PXAT)
//	P at:<ns>                     zset    the namespace's activation ids
//	                                      scored by Start (epoch ms)
//	P an:<ns>:<name>              zset    the same, for one action name (the
//	                                      record's path without namespace)
//	P i:ns:<ns>                   string  identity (JSON)
//	P i:uuid:<uuid>               string  the same identity, by UUID, so that
//	                                      authentication is one GET
//	P i                           zset    namespaces with an identity, scored 0
//	P kv:<ns>:<key>               string  KV value, with the KV ttl (PX)
//
// # Activations
//
// PutActivation is one round trip: a MULTI of SET NX PXAT for the record
// (the first write of an id wins, so redelivery never doubles a record) and,
// for each of the two indexes, ZREMRANGEBYSCORE of ids past the retention,
// ZADD NX of the id and PEXPIRE of the index to retention + one minute (an
// index outlives its newest record, and vanishes once no record is left).
// Indexes are also pruned by lists and counts; an id whose record is gone
// anyway (evicted under maxmemory) is dropped from the index when a list
// meets it. A record whose Start is already past the retention is not
// written. GetActivation is one GET.
//
// Lists read an index newest first (ZRANGE BYSCORE REV LIMIT) and then the
// records (MGET): two round trips. Counts are one ZCOUNT.
//
// # KV
//
// KVIncr is INCRBY, so counters are decimal strings and keep their ttl.
// KVKeys walks the keyspace with SCAN MATCH (never KEYS), so its cost grows
// with the whole database; it returns the names sorted.
package redis
