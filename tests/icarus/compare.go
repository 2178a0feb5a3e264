// compare.go owns the verdict: Icarus's observations against Daedalus's, key by key, each
// difference either on the written lists of docs/ICARUS.md (the tables under "Deliberate
// differences" and "Known defects", the latter being differences still to fix, listed so that
// the suite tracks them and catches any new one) or a failure.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
)

// allowance is one row of the list: a key pattern (path.Match syntax, `*` within a dot-free
// segment run) and the kind of difference allowed.
type allowance struct {
	pattern string
	kind    string // changed, extra (Daedalus only), missing (Icarus only), any
	used    bool
}

var rowRE = regexp.MustCompile("^\\|\\s*`([^`]+)`\\s*\\|\\s*(changed|extra|missing|any)\\s*\\|")

func loadAllowances(doc string) []*allowance {
	f, err := os.Open(doc)
	if err != nil {
		fatalf("allow list: %v", err)
	}
	defer f.Close()
	var out []*allowance
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.Contains(line, "Deliberate differences") || strings.Contains(line, "Known defects")
			continue
		}
		if m := rowRE.FindStringSubmatch(line); in && m != nil {
			out = append(out, &allowance{pattern: m[1], kind: m[2]})
		}
	}
	if len(out) == 0 {
		fatalf("no deliberate differences read from %s", doc)
	}
	return out
}

func allowed(list []*allowance, key, kind string) bool {
	for _, a := range list {
		if ok, _ := path.Match(a.pattern, key); ok && (a.kind == kind || a.kind == "any") {
			a.used = true
			return true
		}
	}
	return false
}

// compare prints one line per difference and the closing count; returns the failures.
func compare(icarus, daedalus *observations, list []*allowance) int {
	passed, failed := 0, 0
	fmt.Printf("comparing %s (%s) with %s (%s)\n", icarus.Side, icarus.Server, daedalus.Side, daedalus.Server)
	verdict := func(key, kind, detail string) {
		if allowed(list, key, kind) {
			passed++
			fmt.Printf("  listed     %s (%s): %s\n", key, kind, detail)
		} else {
			failed++
			fmt.Printf("  DIFFERENT  %s (%s): %s\n", key, kind, detail)
		}
	}
	for _, e := range icarus.Entries {
		i, ok := daedalus.index[e.Key]
		switch {
		case !ok:
			verdict(e.Key, "missing", "icarus "+e.Value+", daedalus has no such value")
		case daedalus.Entries[i].Value != e.Value:
			verdict(e.Key, "changed", "icarus "+e.Value+", daedalus "+daedalus.Entries[i].Value)
		default:
			passed++
		}
	}
	for _, e := range daedalus.Entries {
		if _, ok := icarus.index[e.Key]; !ok {
			verdict(e.Key, "extra", "daedalus "+e.Value+", icarus has no such value")
		}
	}
	for _, a := range list {
		if !a.used {
			fmt.Printf("  note: listed difference %s (%s) did not occur\n", a.pattern, a.kind)
		}
	}
	fmt.Printf("conformance: %d passed, %d failed\n", passed, failed)
	return failed
}
