package avataxsim

import (
	"strings"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// includeSet is a parsed $include.
type includeSet map[string]bool

func parseInclude(v string) includeSet {
	set := includeSet{}
	for _, p := range strings.Split(v, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p != "" {
			set[p] = true
		}
	}
	return set
}

// applyInclude trims a document to what $include asks for. Without
// $include every part comes back (AvaTax's default for create is
// Summary,Addresses, which implies lines and details).
func applyInclude(tm avatax.TransactionModel, include string) avatax.TransactionModel {
	set := parseInclude(include)
	delete(set, "forcetimeout")
	delete(set, "forcedtimeout")
	if len(set) == 0 {
		return tm
	}
	lines := set["lines"] || set["details"] || set["summary"] || set["linesonly"]
	details := set["details"] || set["summary"]
	summary := set["summary"] || set["summaryonly"]
	addresses := set["addresses"]
	if set["linesonly"] {
		details = false
	}
	if set["summaryonly"] {
		lines, details = false, false
	}
	if !lines {
		tm.Lines = nil
	} else if !details {
		ls := make([]avatax.TransactionLineModel, len(tm.Lines))
		for i, l := range tm.Lines {
			l.Details = nil
			ls[i] = l
		}
		tm.Lines = ls
	}
	if !summary {
		tm.Summary = nil
	}
	if !addresses {
		tm.Addresses = nil
	}
	return tm
}

// forceTimeout honours $include=ForceTimeout: AvaTax waits and then fails
// with TimeoutRequested.
func (s *Sandbox) forceTimeout(req *request) *apiError {
	set := parseInclude(req.query["$include"])
	if !set["forcetimeout"] && !set["forcedtimeout"] {
		return nil
	}
	delay := s.opts.ForceTimeoutDelay
	if delay == 0 {
		delay = 30 * time.Second
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-req.r.Context().Done():
		}
	}
	return errTimeoutRequested()
}
