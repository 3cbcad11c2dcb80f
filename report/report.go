// Package report renders warehouse numbers as plain-text charts, for terminals and CI logs.
package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Stage is one step of a funnel: a status and the leads that reached it.
type Stage struct {
	Name  string
	Count int64
}

// FunnelOptions configure Funnel. Zero fields take the defaults in their comments.
type FunnelOptions struct {
	// Title is the first line. Default "Funnel".
	Title string
	// Width is the length of the longest bar, in characters. Default 40.
	Width int
}

func (o *FunnelOptions) setDefaults() {
	if o.Title == "" {
		o.Title = "Funnel"
	}
	if o.Width <= 0 {
		o.Width = 40
	}
}

// Funnel writes stages as a bar chart, one line per stage in the order given: its name, a bar of
// '#' as long as its count relative to the largest, the count, its share of the first stage and
// its conversion from the stage before. dropped (leads that left the funnel, such as failed
// ones) follow on one line, as shares of the first stage. Only ASCII is written besides the
// names, so the chart reads the same in any terminal and in CI logs.
func Funnel(w io.Writer, stages, dropped []Stage, opts FunnelOptions) error {
	opts.setDefaults()
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\n\n", opts.Title)
	if len(stages) == 0 {
		fmt.Fprintln(bw, "(no stages)")
		return bw.Flush()
	}

	nameWidth, countWidth := len("stage"), len("leads")
	var top int64
	for _, s := range stages {
		nameWidth = max(nameWidth, utf8.RuneCountInString(s.Name))
		countWidth = max(countWidth, len(formatCount(s.Count)))
		top = max(top, s.Count)
	}
	first := stages[0].Count
	firstName := stages[0].Name

	fmt.Fprintf(bw, "%s  %s  %*s  %8s  %13s\n", pad("stage", nameWidth), strings.Repeat(" ", opts.Width), countWidth, "leads", "of "+shorten(firstName, 5), "from previous")
	for i, s := range stages {
		ofFirst, fromPrev := percent(s.Count, first), ""
		if i > 0 {
			fromPrev = percent(s.Count, stages[i-1].Count)
		}
		line := fmt.Sprintf("%s  %s  %*s  %8s  %13s", pad(s.Name, nameWidth), bar(s.Count, top, opts.Width), countWidth, formatCount(s.Count), ofFirst, fromPrev)
		fmt.Fprintln(bw, strings.TrimRight(line, " "))
	}
	if top == 0 {
		fmt.Fprintln(bw, "\nno lead moved to any of these stages")
	}
	if len(dropped) > 0 {
		parts := make([]string, len(dropped))
		for i, d := range dropped {
			parts[i] = fmt.Sprintf("%s %s", d.Name, formatCount(d.Count))
			if first > 0 {
				parts[i] += fmt.Sprintf(" (%s of %s)", strings.TrimSpace(percent(d.Count, first)), firstName)
			}
		}
		fmt.Fprintf(bw, "\nleft the funnel: %s\n", strings.Join(parts, ", "))
	}
	return bw.Flush()
}

// bar is n's bar in a chart whose largest value top is width characters long, padded to width.
// A stage with any lead gets at least one '#', so it cannot look empty.
func bar(n, top int64, width int) string {
	k := 0
	if top > 0 && n > 0 {
		k = max(1, int((n*int64(width)+top/2)/top))
	}
	return strings.Repeat("#", k) + strings.Repeat(" ", width-k)
}

// percent is n as a share of of, with one decimal; "-" when of is zero.
func percent(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(n)*100/float64(of), 'f', 1, 64) + "%"
}

// formatCount writes n with a comma between thousands.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s)))
}

// shorten keeps the first n runes of s, for a column header.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
