// Package jsq holds what the consumers of Gust's JetStream work queues (the
// invokers' async stream, the controllers' compose stream) do alike with
// the messages they pull: hand a fetched batch out, or back once stopping,
// and keep a message in progress while it is worked on.
package jsq
