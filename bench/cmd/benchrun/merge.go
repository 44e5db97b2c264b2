package main

import (
	"errors"
	"fmt"
	"slices"
)

// readAll reads result files (JSONL or generated pages) and merges them in
// order.
func readAll(paths []string) (resultsFile, error) {
	files := make([]resultsFile, 0, len(paths))
	for _, p := range paths {
		f, err := readRecords(p)
		if err != nil {
			return resultsFile{}, err
		}
		files = append(files, f)
	}
	f, err := merge(files)
	if err != nil {
		return f, fmt.Errorf("merging %q: %w", paths, err)
	}
	return f, nil
}

// compatible reports whether results of b can be merged into a: the same
// sizes and repetitions, so that every row of the page means the same.
func compatible(a, b resultsFile) error {
	if a.Reps != b.Reps {
		return fmt.Errorf("%d repetitions against %d: runs with different -reps cannot share a page", a.Reps, b.Reps)
	}
	if a.Sizes != b.Sizes {
		return fmt.Errorf("sizes differ (%+v against %+v): a -quick run, or one with other -hold or -echo-rate, cannot share a page with a full run", a.Sizes, b.Sizes)
	}
	return nil
}

// merge combines result files in order: the records of a later file
// replace the earlier records of the same scenarios, and its servers are
// added. The page keeps the first file's machine and date; the scenarios
// taken from a later file are listed in Parts with that file's machine.
func merge(files []resultsFile) (resultsFile, error) {
	if len(files) == 0 {
		return resultsFile{}, errors.New("no results to merge")
	}
	out := files[0]
	out.Servers = slices.Clone(out.Servers)
	out.Parts = slices.Clone(out.Parts)
	out.Records = slices.Clone(out.Records)
	for _, f := range files[1:] {
		if err := compatible(out, f); err != nil {
			return resultsFile{}, err
		}
		names := scenarioNames(f.Records)
		replaced := func(s string) bool { return slices.Contains(names, s) }
		out.Records = slices.DeleteFunc(out.Records, func(r record) bool { return replaced(r.Scenario) })
		out.Records = append(out.Records, f.Records...)

		// The earlier parts lose the replaced scenarios; the later file
		// brings its own parts and, for the rest of its scenarios, its
		// machine.
		var parts []part
		for _, p := range out.Parts {
			p.Scenarios = slices.DeleteFunc(slices.Clone(p.Scenarios), replaced)
			if len(p.Scenarios) > 0 {
				parts = append(parts, p)
			}
		}
		parts = append(parts, f.Parts...)
		own := slices.DeleteFunc(slices.Clone(names), func(s string) bool {
			return slices.ContainsFunc(f.Parts, func(p part) bool { return slices.Contains(p.Scenarios, s) })
		})
		if len(own) > 0 {
			parts = append(parts, part{Scenarios: own, Machine: f.Machine})
		}
		out.Parts = parts
		for _, s := range f.Servers {
			if !slices.Contains(out.Servers, s) {
				out.Servers = append(out.Servers, s)
			}
		}
	}
	return out, nil
}

// scenarioNames lists the scenarios of recs in order of first appearance.
func scenarioNames(recs []record) []string {
	var names []string
	for _, r := range recs {
		if !slices.Contains(names, r.Scenario) {
			names = append(names, r.Scenario)
		}
	}
	return names
}
