package main

import (
	"fmt"
	"strings"
)

// shells are the values of --completion.
var shells = []string{"bash", "zsh", "fish"}

// completionScript is the script --completion prints for shell, made from
// flagTable so that it offers the flags and values this binary accepts.
// The scripts are static: completing never runs udsls, which may be slow
// (a snapshot) or absent from PATH where the script is installed.
func completionScript(shell string) string {
	switch shell {
	case "bash":
		return bashCompletion()
	case "zsh":
		return zshCompletion()
	case "fish":
		return fishCompletion()
	}
	panic("completionScript: unknown shell " + shell)
}

// takesValue reports whether the flag is followed by a value.
func (f *flagSpec) takesValue() bool { return f.kind != kindBool }

// repeatable reports whether the flag may be given more than once.
func (f *flagSpec) repeatable() bool { return f.kind == kindStrings || f.kind == kindStringArray }

// prefixValues reports whether the values are KIND: prefixes of a path.
func (f *flagSpec) prefixValues() bool {
	return len(f.values) > 0 && strings.HasSuffix(f.values[0], ":")
}

// oneLine is a flag's help for a completion menu: the lines joined.
func (f *flagSpec) oneLine() string {
	if f.sec == secModes {
		return modeSummary(f.name)
	}
	return strings.Join(strings.Split(f.help, "\n"), " ")
}

// spellings are the ways the flag is typed: -o and --output.
func (f *flagSpec) spellings() []string {
	if f.short != "" {
		return []string{"-" + f.short, "--" + f.name}
	}
	return []string{"--" + f.name}
}

// dirModes are the mode flags whose arguments are directories.
func dirModes() []string {
	var m []string
	for _, f := range flagTable {
		if f.sec == secModes && f.paths == pathDirs {
			m = append(m, "--"+f.name)
		}
	}
	return m
}

func bashCompletion() string {
	var b strings.Builder
	b.WriteString(`# bash completion for udsls                                -*- shell-script -*-
# Made by 'udsls --completion bash' from the flags udsls accepts.

_udsls_words() { mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur"); }
_udsls_files() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); }
_udsls_dirs() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); }

_udsls() {
    local cur=${COMP_WORDS[COMP_CWORD]} j=$((COMP_CWORD - 1)) prev= prefix= i
    COMPREPLY=()
    # Bash splits "--from=lsof:/tmp/x" into --from = lsof : /tmp/x at the
    # characters of COMP_WORDBREAKS; j goes back to the flag.
    if [[ $cur == : ]]; then
        prefix=${COMP_WORDS[j]}: cur= j=$((j - 1))
    elif [[ ${COMP_WORDS[j]} == : ]]; then
        prefix=${COMP_WORDS[j - 1]}: j=$((j - 2))
    fi
    if [[ $cur == = ]]; then
        cur=
    elif [[ ${COMP_WORDS[j]} == = ]]; then
        j=$((j - 1))
    fi
    ((j >= 1)) && prev=${COMP_WORDS[j]}
    case $prev in
`)
	for _, f := range flagTable {
		if !f.takesValue() {
			continue
		}
		fmt.Fprintf(&b, "    %s)\n        %s\n        return ;;\n", strings.Join(f.spellings(), "|"), bashAction(&f))
	}
	b.WriteString(`    esac
    if [[ $cur == -* ]]; then
        _udsls_words '`)
	var words []string
	for _, f := range flagTable {
		words = append(words, f.spellings()...)
	}
	b.WriteString(strings.Join(words, " "))
	fmt.Fprintf(&b, `'
        return
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        %s)
            _udsls_dirs
            return ;;
        esac
    done
    _udsls_files
}

complete -F _udsls udsls
`, strings.Join(dirModes(), "|"))
	return b.String()
}

// bashAction is the shell code that completes the value of f.
func bashAction(f *flagSpec) string {
	switch {
	case f.prefixValues():
		return fmt.Sprintf("if [[ -n $prefix ]]; then _udsls_files; else _udsls_words '%s'; compopt -o nospace 2>/dev/null; fi", strings.Join(f.values, " "))
	case len(f.values) > 0:
		return fmt.Sprintf("_udsls_words '%s'", strings.Join(f.values, " "))
	case f.paths == pathFiles:
		return "_udsls_files"
	case f.paths == pathDirs:
		return "_udsls_dirs"
	case f.arg == "USER":
		return `mapfile -t COMPREPLY < <(compgen -u -- "$cur")`
	case f.arg == "GROUP":
		return `mapfile -t COMPREPLY < <(compgen -g -- "$cur")`
	}
	// A number, a duration, a process id: nothing to offer.
	return ":"
}

func zshCompletion() string {
	var b strings.Builder
	b.WriteString(`#compdef udsls
# zsh completion for udsls
# Made by 'udsls --completion zsh' from the flags udsls accepts.

`)
	for _, f := range flagTable {
		if f.prefixValues() {
			fmt.Fprintf(&b, "%s() {\n    if compset -P '*:'; then\n        _files\n    else\n        compadd -S '' -- %s\n    fi\n}\n\n",
				zshPrefixFunc(&f), strings.Join(f.values, " "))
		}
	}
	fmt.Fprintf(&b, `_udsls_args() {
    if (( ${words[(I)(%s)]} )); then
        _files -/
    else
        _files
    fi
}

_udsls() {
    _arguments -s -S \
`, strings.Join(dirModes(), "|"))
	var modes []string
	for _, f := range flagTable {
		if f.sec == secModes {
			modes = append(modes, "--"+f.name)
		}
	}
	for _, f := range flagTable {
		var excl []string
		switch {
		case f.sec == secModes:
			excl = modes
		case !f.repeatable():
			excl = f.spellings()
		}
		prefix := "'*'"
		if excl != nil {
			prefix = "'(" + strings.Join(excl, " ") + ")'"
		}
		var sp []string
		for _, s := range f.spellings() {
			switch {
			case !f.takesValue():
			case strings.HasPrefix(s, "--"):
				s += "="
			default:
				s += "+"
			}
			sp = append(sp, s)
		}
		names := sp[0]
		if len(sp) > 1 {
			names = "{" + strings.Join(sp, ",") + "}"
		}
		spec := "[" + zshEscape(f.oneLine()) + "]"
		if f.takesValue() {
			spec += ":" + zshEscape(f.arg) + ":" + zshAction(&f)
		}
		fmt.Fprintf(&b, "        %s%s%s \\\n", prefix, names, zshQuote(spec))
	}
	b.WriteString(`        '*:path:_udsls_args'
}

if [[ $funcstack[1] == _udsls ]]; then
    _udsls "$@"
else
    compdef _udsls udsls
fi
`)
	return b.String()
}

func zshPrefixFunc(f *flagSpec) string { return "_udsls_" + strings.ReplaceAll(f.name, "-", "_") }

func zshAction(f *flagSpec) string {
	switch {
	case f.prefixValues():
		return zshPrefixFunc(f)
	case len(f.values) > 0:
		return "(" + strings.Join(f.values, " ") + ")"
	case f.paths == pathFiles:
		return "_files"
	case f.paths == pathDirs:
		return "_files -/"
	case f.arg == "USER":
		return "_users"
	case f.arg == "GROUP":
		return "_groups"
	}
	return " "
}

// zshEscape protects the characters _arguments gives a meaning to in a
// description or a message.
func zshEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `:`, `\:`).Replace(s)
}

func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fishCompletion completes the file after --from=KIND: with a glob of its
// own: fish 3.6's __fish_complete_path passes the names it finds to ls(1)
// as arguments, where a file named "--hide=*" is an option.
func fishCompletion() string {
	var b strings.Builder
	b.WriteString(`# fish completion for udsls
# Made by 'udsls --completion fish' from the flags udsls accepts.

`)
	for _, f := range flagTable {
		if f.prefixValues() {
			fmt.Fprintf(&b, `function %s
    set -l t (string replace -r -- '^--%s=' '' (commandline -ct))
    if string match -q -- '*:*' $t
        set -l kind (string split -m1 -- : $t)[1]
        set -l p (string split -m1 -- : $t)[2]
        for f in $p*
            test -d $f; and set f $f/
            printf '%%s\n' "$kind:$f"
        end
    else
        printf '%%s\n' %s
    end
end

`, fishPrefixFunc(&f), f.name, strings.Join(f.values, " "))
		}
	}
	for _, f := range flagTable {
		line := "complete -c udsls"
		if f.short != "" {
			line += " -s " + f.short
		}
		line += " -l " + f.name + " -d " + fishQuote(f.oneLine())
		if f.takesValue() {
			switch {
			case f.prefixValues():
				line += " -x -a '(" + fishPrefixFunc(&f) + ")'"
			case len(f.values) > 0:
				line += " -x -a " + fishQuote(strings.Join(f.values, " "))
			case f.paths == pathFiles:
				line += " -r -F"
			case f.paths == pathDirs:
				line += " -x -a '(__fish_complete_directories)'"
			case f.arg == "USER":
				line += " -x -a '(__fish_complete_users)'"
			case f.arg == "GROUP":
				line += " -x -a '(__fish_complete_groups)'"
			default:
				line += " -x"
			}
		}
		b.WriteString(line + "\n")
	}
	var cond []string
	for _, m := range dirModes() {
		cond = append(cond, "-l "+strings.TrimPrefix(m, "--"))
	}
	fmt.Fprintf(&b, "complete -c udsls -n '__fish_seen_argument %s' -x -a '(__fish_complete_directories)'\n", strings.Join(cond, " "))
	return b.String()
}

func fishPrefixFunc(f *flagSpec) string { return "__udsls_" + strings.ReplaceAll(f.name, "-", "_") }

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
