package store

import (
	"strconv"
	"strings"
)

// where is a statement's conditions with their arguments, each condition
// present only when the request sets it. Every combination of conditions
// is a statement text of its own, rather than one text whose optional
// conditions ("$1 is null or …") are decided by its arguments: then no
// statement's best plan depends on its arguments, and one generic plan
// per statement and connection serves every execution
// (setClaimsGenericSQL) instead of Postgres planning each one again.
type where struct {
	conds []string
	args  []any
}

// add appends cond, whose ? stand for args in order.
func (w *where) add(cond string, args ...any) {
	var sb strings.Builder
	for _, part := range strings.SplitAfter(cond, "?") {
		if p, ok := strings.CutSuffix(part, "?"); ok {
			sb.WriteString(p)
			sb.WriteString(w.arg(args[0]))
			args = args[1:]
			continue
		}
		sb.WriteString(part)
	}
	w.conds = append(w.conds, sb.String())
}

// arg adds an argument used outside the conditions (a limit) and returns
// its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// String is the conditions joined, "true" when there are none.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return "true"
	}
	return strings.Join(w.conds, " and ")
}
