// Package render prints what package inspect finds: the listing, stale,
// check and audit reports as tables for a terminal and as JSON documents
// (udsls's public output contract), and Prometheus metrics. It is the only
// printer: inspect returns values, cmd/udsls picks the renderer. Untrusted
// names are escaped for terminals (Escape) and kept exact in JSON.
package render
