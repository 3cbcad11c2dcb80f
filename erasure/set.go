package erasure

import (
	"regexp"
	"strconv"

	"github.com/leadhouse/leadhouse/schema"
)

// Set is the leads and phone numbers of every erasure request, as the pipeline's filter asks
// about each record. It never changes once made, so it is safe for concurrent use.
type Set struct {
	leads  map[uint64]struct{}
	phones map[string]struct{}
	key    []byte
}

func newSet(ts []Tombstone, key []byte) *Set {
	s := &Set{leads: map[uint64]struct{}{}, phones: map[string]struct{}{}, key: key}
	for _, t := range ts {
		for _, id := range t.LeadIDs {
			s.leads[id] = struct{}{}
		}
		for _, h := range t.PhoneHashes {
			s.phones[h] = struct{}{}
		}
	}
	return s
}

// Len is the number of leads and phone numbers the set forgets.
func (s *Set) Len() int { return len(s.leads) + len(s.phones) }

// HasLead reports whether the set forgets lead id.
func (s *Set) HasLead(id uint64) bool {
	_, ok := s.leads[id]
	return ok
}

// HasPhone reports whether the set forgets the number whose Store.PhoneHash is h.
func (s *Set) HasPhone(h string) bool {
	_, ok := s.phones[h]
	return ok
}

// leadIDText finds the lead ids a body that is no callback names, as the CRM writes them
// (`"lead_id":1402361`, or quoted): a truncated or broken body still carries its lead's id.
var leadIDText = regexp.MustCompile(`"lead_id"\s*:\s*"?\s*([0-9]{1,20})`)

// Match reports whether a record belongs to someone the set forgets. rows is what body became, or
// nil when it became no rows (a dead letter, or a stretch of the log that is no valid record):
// then body's text is searched for a lead id and for phone numbers.
func (s *Set) Match(body []byte, rows *schema.Rows) bool {
	if s.Len() == 0 {
		return false
	}
	if rows != nil {
		return s.HasLead(rows.Lead.LeadID) || s.phoneMatch(rows.Lead.Phone)
	}
	if len(s.leads) > 0 {
		for _, m := range leadIDText.FindAllSubmatch(body, -1) {
			if id, err := strconv.ParseUint(string(m[1]), 10, 64); err == nil && s.HasLead(id) {
				return true
			}
		}
	}
	if len(s.phones) > 0 && s.key != nil {
		for _, n := range phoneRuns(body) {
			if s.HasPhone(phoneHash(s.key, n)) {
				return true
			}
		}
	}
	return false
}

func (s *Set) phoneMatch(phone string) bool {
	if len(s.phones) == 0 || s.key == nil {
		return false
	}
	n := NationalNumber(phone)
	return n != "" && s.HasPhone(phoneHash(s.key, n))
}

// Filter is Match, or nil when the set is empty, which spares the pipeline a call per record.
func (s *Set) Filter() func(body []byte, rows *schema.Rows) bool {
	if s.Len() == 0 {
		return nil
	}
	return s.Match
}
