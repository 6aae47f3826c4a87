// Package whisk is Gust's vocabulary for OpenWhisk's model: entity names,
// actions and their limits, parameters and annotations, and the activation
// record. Every role speaks these types; their JSON is OpenWhisk's wire format,
// so the stock wsk CLI reads what Gust writes.
package whisk
