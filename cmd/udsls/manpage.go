package main

import (
	"fmt"
	"regexp"
	"strings"
)

// usageDoc is the --help text taken apart for the man page, which is made
// from it and from flagTable so that the two cannot drift.
type usageDoc struct {
	summary  string      // "show everything about …"
	usages   [][2]string // synopsis, what it does
	prose    []string    // paragraphs that are neither usage, exit status nor examples
	exit     string      // the "Exit status:" paragraph, without its title
	examples [][2]string // command, what it does ("" when the command says it)
}

// twoColumns splits an indented "command   what it does" line.
var twoColumns = regexp.MustCompile(`^\s+(\S.*?)(?:\s{2,}(\S.*))?$`)

func parseUsage(head, tail string) usageDoc {
	var d usageDoc
	blocks := strings.Split(strings.TrimSpace(head), "\n\n")
	d.summary = strings.TrimPrefix(blocks[0], "udsls: ")
	for _, blk := range append(blocks[1:], strings.Split(strings.TrimSpace(tail), "\n\n")...) {
		title, rest, _ := strings.Cut(blk, "\n")
		switch {
		case title == "Usage:", title == "Examples:":
			var rows [][2]string
			for _, l := range strings.Split(rest, "\n") {
				m := twoColumns.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				rows = append(rows, [2]string{m[1], m[2]})
			}
			if title == "Usage:" {
				d.usages = append(d.usages, rows...)
			} else {
				d.examples = append(d.examples, rows...)
			}
		case strings.HasPrefix(blk, "Exit status:"):
			d.exit = strings.TrimSpace(strings.TrimPrefix(blk, "Exit status:"))
		default:
			d.prose = append(d.prose, blk)
		}
	}
	return d
}

// modeSummary is what the Usage line of mode flag --name says it does.
func modeSummary(name string) string {
	for _, u := range parseUsage(usageHead, usageTail).usages {
		if strings.HasPrefix(u[0], "udsls --"+name+" ") {
			return u[1]
		}
	}
	return ""
}

// roff escapes text for a man page: a backslash is \e, every hyphen is a
// minus (\-) so that options copied from the page work, and a line cannot
// start with a control character.
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

func bold(s string) string   { return `\fB` + roff(s) + `\fR` }
func italic(s string) string { return `\fI` + roff(s) + `\fR` }

// synopsis sets the command and its mode flag in bold.
func synopsis(s string) string {
	words := strings.Fields(s)
	n := 1
	if len(words) > 1 && strings.HasPrefix(words[1], "--") {
		n = 2
	}
	return strings.TrimSpace(bold(strings.Join(words[:n], " ")) + " " + roff(strings.Join(words[n:], " ")))
}

// manPage is udsls(1) in roff, for man-db, made from flagTable and --help.
func manPage(version string) string {
	d := parseUsage(usageHead, usageTail)
	var b strings.Builder
	fmt.Fprintf(&b, ".\\\" Made by 'udsls --man' from the flags and --help of udsls.\n")
	fmt.Fprintf(&b, ".TH UDSLS 1 \"\" \"udsls %s\" \"User Commands\"\n", strings.ReplaceAll(roff(version), `"`, `\(dq`))
	// Flags and paths are not words to hyphenate or stretch.
	b.WriteString(".nh\n.ad l\n")
	fmt.Fprintf(&b, ".SH NAME\nudsls \\- %s\n", roff(d.summary))

	b.WriteString(".SH SYNOPSIS\n.nf\n")
	for _, u := range d.usages {
		b.WriteString(synopsis(u[0]) + "\n")
	}
	b.WriteString(".fi\n")

	b.WriteString(".SH DESCRIPTION\n")
	for _, u := range d.usages {
		fmt.Fprintf(&b, ".TP\n%s\n%s\n", synopsis(u[0]), roff(u[1]))
	}
	for _, p := range d.prose {
		fmt.Fprintf(&b, ".PP\n%s\n", roff(p))
	}

	b.WriteString(".SH OPTIONS\n")
	for _, sec := range append([]*section{secModes}, sections...) {
		title := sec.title
		switch sec {
		case secModes:
			title = "Modes"
		case secMisc:
			title = "Other"
		}
		fmt.Fprintf(&b, ".SS %s\n", roff(title))
		for _, f := range flagTable {
			if f.sec != sec {
				continue
			}
			var tag []string
			for _, s := range f.spellings() {
				tag = append(tag, bold(s))
			}
			t := strings.Join(tag, ", ")
			if f.arg != "" {
				t += " " + italic(f.arg)
			}
			help := f.help
			if sec == secModes {
				help = modeSummary(f.name)
			}
			fmt.Fprintf(&b, ".TP\n%s\n%s\n", t, roff(help))
		}
	}

	if d.exit != "" {
		b.WriteString(".SH EXIT STATUS\n")
		for _, item := range strings.Split(strings.TrimSuffix(d.exit, "."), ";") {
			code, what, _ := strings.Cut(strings.Join(strings.Fields(item), " "), " ")
			fmt.Fprintf(&b, ".TP\n%s\n%s\n", bold(code), roff(what))
		}
	}
	if len(d.examples) > 0 {
		b.WriteString(".SH EXAMPLES\n")
		for _, e := range d.examples {
			if e[1] == "" {
				fmt.Fprintf(&b, ".PP\n%s\n", bold(e[0]))
				continue
			}
			fmt.Fprintf(&b, ".TP\n%s\n%s\n", bold(e[0]), roff(e[1]))
		}
	}
	b.WriteString(".SH SEE ALSO\n\\fBss\\fR(8), \\fBlsof\\fR(8), \\fBunix\\fR(7)\n")
	return b.String()
}
