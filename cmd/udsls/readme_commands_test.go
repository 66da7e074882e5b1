package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeCommands are the udsls commands of README's code blocks: the lines
// after a "$ " prompt in a block that has prompts, every line of an sh or
// plain block that has none, cut at a pipe, redirection, "&&", ";", "&" or comment.
func readmeCommands(t *testing.T) [][]string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, m := range regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```").FindAllStringSubmatch(string(readme), -1) {
		lines := strings.Split(m[2], "\n")
		prompted := strings.Contains(m[2], "\n$ ") || strings.HasPrefix(m[2], "$ ")
		// json, yaml, ini: not shell.
		if !prompted && m[1] != "sh" && m[1] != "bash" && m[1] != "" {
			continue
		}
		for _, line := range lines {
			if prompted {
				var ok bool
				if line, ok = strings.CutPrefix(line, "$ "); !ok {
					continue
				}
			}
			for _, seg := range regexp.MustCompile(`&&|;`).Split(line, -1) {
				words := shellWords(seg)
				if len(words) > 0 && words[0] == "sudo" {
					words = words[1:]
				}
				if len(words) == 0 || words[0] != "udsls" {
					continue
				}
				cmds = append(cmds, words)
			}
		}
	}
	return cmds
}

// shellWords splits a command line as sh would, as far as README needs:
// quotes, and a "$(...)" or "$VAR" kept as one word; it stops at an
// unquoted |, <, >, & or #.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in, quote, depth := false, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote && depth == 0 {
				quote = 0
				continue
			}
			if c == ')' && depth > 0 {
				depth--
			}
		case depth > 0:
			if c == ')' {
				depth--
			}
		case c == '\'' || c == '"':
			quote, in = c, true
			continue
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			depth++
			w.WriteByte(c)
			w.WriteByte('(')
			i++
			in = true
			continue
		case strings.IndexByte("|<>&#", c) >= 0:
			if in {
				words = append(words, w.String())
			}
			return words
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
			continue
		}
		if quote == '"' && c == '$' && i+1 < len(s) && s[i+1] == '(' {
			depth++
		}
		w.WriteByte(c)
		in = true
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// TestReadmeCommandsParse: every udsls command README shows is one the
// flags accept; a renamed flag or a mode rule must take README with it.
func TestReadmeCommandsParse(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 20 {
		t.Fatalf("found %d udsls commands in README, want more: is the extraction broken?", len(cmds))
	}
	for _, c := range cmds {
		if _, err := parseFlags(c[1:]); err != nil {
			t.Errorf("README shows %q: %v", strings.Join(c, " "), err)
		}
	}
}
