// Package text holds the few formatting rules that both inspect's
// messages and the renderers in inspect/render follow: escaping untrusted
// names for a terminal, account names, octal modes and hex IDs. It lives
// apart so that inspect, which renderers import, need not import them.
package text
