package gen

import "strconv"

// writer appends one payload. It lives on Next's stack so a payload costs no
// allocation beyond growing the destination.
type writer struct {
	b     []byte
	start int
	r     *rng
	t     *texts
	g     *Generator

	ascii bool // escape every non-ASCII rune, as Python's json.dumps does
	mixTS bool // let every timestamp pick its own format

	longPer    int // per-mille chance that a note is a long transcript or email
	longMin    int
	longMax    int
	longBudget int // bytes all long texts may still use, keeping the payload under MaxBytes
}

// Upper bounds of each element's size without its free text; they reserve room so
// that long texts can be cut to keep a payload under MaxBytes.
const (
	baseBound    = 8 << 10
	noteBound    = 400
	shortBound   = 320
	callBound    = 760
	eventBound   = 480
	dispBound    = 240
	docBound     = 480
	maxEvNotes   = 5
	maxNotes     = 50
	maxEvents    = 10
	maxCalls     = 20
	maxDisps     = 10
	maxDocs      = 3
	noteIDBase   = 700000
	eventIDBase  = 1200000
	evNoteIDBase = 20000000
	callIDBase   = 2000
	dispIDBase   = 100
	docIDBase    = 1100
)

// child-stream kinds for derive
const (
	kindLead uint64 = iota + 1
	kindNote
	kindEvent
	kindEventNote
	kindCall
	kindDisp
	kindDoc
)

// lead is what stays the same across a lead's callbacks.
type lead struct {
	idx      int
	id       int64
	created  int64
	claimed  int64 // 0: never claimed
	age      int64
	name     int
	phone    int64
	email    int // -1: null
	emailNum int
	project  int
	source   int
	sub      int
	channel  int
	agent    int
	cpID     int // 0: no channel partner
	rating   int // -1: null
	budget   int64
}

func (g *Generator) lead(idx int) lead {
	r := derive(g.seed, kindLead, uint64(idx))
	l := lead{idx: idx}
	l.id = g.opts.FirstLeadID + int64(idx)*7 + int64(r.intn(7))
	l.age = 86400 + int64(r.intn(180*86400))
	l.created = g.opts.Start - l.age
	if r.per(800) {
		l.claimed = l.created + int64(r.intn(6*3600))
	}
	l.name = r.intn(len(personNames))
	l.phone = 7000000000 + int64(r.intn(2999999999))
	l.email = -1
	if r.per(600) {
		l.email = r.intn(len(localParts))
	}
	l.emailNum = r.intn(100)
	l.project = r.intn(len(projects))
	l.source = r.intn(len(sources))
	l.sub = r.intn(len(subSources))
	l.channel = r.intn(len(channels))
	l.agent = r.intn(len(agentNames))
	if r.per(400) {
		l.cpID = 3000 + r.intn(5000)
	}
	l.rating = -1
	if r.per(500) {
		l.rating = r.intn(len(ratings))
	}
	l.budget = int64(r.between(20, 400)) * 500000
	return l
}

// agentID and agentPhone derive an agent's fixed details from its index.
func agentID(a int) int64    { return 500 + int64(a)*131 }
func agentPhone(a int) int64 { return 7000000000 + int64(a)*45184793%2999999999 }

// event is one entry of event_details, derived from the lead and its position.
type event struct {
	id                          int64
	created, updated, from, end int64
	typ, status, notes          int
}

func (g *Generator) event(l *lead, e int) event {
	r := derive(g.seed, kindEvent, uint64(l.idx), uint64(e))
	gap := l.age / (maxEvents + 2)
	var ev event
	ev.id = eventIDBase + int64(l.idx)*16 + int64(e)
	ev.created = l.created + int64(e+1)*gap + int64(r.intn(int(gap/2)))
	ev.updated = ev.created + int64(r.intn(2*86400))
	ev.from = ev.created + 3600*int64(r.between(1, 72))
	ev.end = ev.from + 900*int64(r.between(1, 4))
	ev.typ = r.intn(len(eventTypes))
	ev.status = r.intn(len(eventStatuses))
	ev.notes = r.between(0, maxEvNotes)
	return ev
}

func (w *writer) comma() {
	if n := len(w.b); n > w.start {
		if c := w.b[n-1]; c != '{' && c != '[' {
			w.b = append(w.b, ',')
		}
	}
}

func (w *writer) key(k string) {
	w.comma()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// str writes a value that never needs escaping.
func (w *writer) str(k, v string) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
}

func (w *writer) esc(k string, e escaped) {
	w.key(k)
	w.b = append(w.b, '"')
	if w.ascii {
		w.b = append(w.b, e.ascii...)
	} else {
		w.b = append(w.b, e.utf8...)
	}
	w.b = append(w.b, '"')
}

func (w *writer) num(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// intOrString writes v as a number, or with probability per/1000 as a numeric string.
func (w *writer) intOrString(k string, v int64, per int) {
	w.key(k)
	if w.r.per(per) {
		w.b = append(w.b, '"')
		w.b = strconv.AppendInt(w.b, v, 10)
		w.b = append(w.b, '"')
		return
	}
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *writer) null(k string) {
	w.key(k)
	w.b = append(w.b, "null"...)
}

func (w *writer) flag(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *writer) phone(k string, p int64) {
	w.key(k)
	w.b = append(w.b, `"+91`...)
	w.b = strconv.AppendInt(w.b, p, 10)
	w.b = append(w.b, '"')
}

// ts writes an instant in the field's usual format, or in any format when the
// payload mixes them.
func (w *writer) ts(k string, sec int64, ms int, usual tsFormat) {
	w.key(k)
	f := usual
	if w.mixTS {
		f = tsFormat(w.r.intn(4))
	}
	w.b = appendTime(w.b, sec, ms, f)
}

// status writes a lead status, sometimes with the stray case and spacing seen in
// hand-configured CRM instances.
func (w *writer) status(k, s string) {
	w.key(k)
	w.b = append(w.b, '"')
	mutation := -1
	if w.r.per(120) {
		mutation = w.r.intn(6)
	}
	switch mutation {
	case 0, 1, 5:
		upperNext := true
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case mutation == 0 && c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case (mutation == 1 || mutation == 5 && upperNext) && c >= 'a' && c <= 'z':
				c -= 'a' - 'A'
			}
			upperNext = c == ' '
			w.b = append(w.b, c)
		}
	case 2:
		w.b = append(w.b, ' ')
		w.b = append(w.b, s...)
	case 3:
		w.b = append(w.b, s...)
		w.b = append(w.b, ' ')
	case 4:
		for i := 0; i < len(s); i++ {
			if s[i] == ' ' {
				w.b = append(w.b, ' ')
			}
			w.b = append(w.b, s[i])
		}
		if w.b[len(w.b)-1] != ' ' {
			w.b = append(w.b, ' ', ' ')
		}
	default:
		w.b = append(w.b, s...)
	}
	w.b = append(w.b, '"')
}

func (w *writer) piece(tb table, i int) {
	if w.ascii {
		w.b = append(w.b, tb[i].ascii...)
	} else {
		w.b = append(w.b, tb[i].utf8...)
	}
}

// text writes a quoted note text of roughly target bytes (it may overshoot by one
// phrase) drawn from r.
func (w *writer) text(r *rng, target int) {
	t := w.t
	w.b = append(w.b, '"')
	start := len(w.b)
	for n := 0; len(w.b)-start < target; n++ {
		if n > 0 {
			switch r.intn(10) {
			case 0:
				w.b = append(w.b, `\n`...)
			case 1, 2:
				w.b = append(w.b, ". "...)
			case 3:
				w.b = append(w.b, ", "...)
			default:
				w.b = append(w.b, ' ')
			}
		}
		switch k := r.intn(100); {
		case k < 62:
			w.piece(t.notes, r.intn(len(t.notes)))
		case k < 78:
			w.piece(t.hindi, r.intn(len(t.hindi)))
		case k < 88:
			w.piece(t.emoji, r.intn(len(t.emoji)))
		default:
			w.piece(t.tricky, r.intn(len(t.tricky)))
		}
	}
	w.b = append(w.b, '"')
}

// longText writes a multi-line transcript of about target bytes.
func (w *writer) longText(r *rng, target int) {
	t := w.t
	w.b = append(w.b, '"')
	start := len(w.b)
	for n := 0; len(w.b)-start < target; n++ {
		if n > 0 {
			w.b = append(w.b, `\n`...)
		}
		w.piece(t.transcript, r.intn(len(t.transcript)))
	}
	w.b = append(w.b, '"')
}

// noteText writes the free text of a note: usually short, rarely a long paste.
func (w *writer) noteText(r *rng) {
	if r.per(w.longPer) {
		n := r.between(w.longMin, w.longMax)
		n = min(n, w.longBudget-w.t.maxPiece)
		if n >= w.longMin {
			w.longBudget -= n + w.t.maxPiece
			w.longText(r, n)
			return
		}
	}
	var n int
	switch k := r.intn(100); {
	case k < 3:
		n = 0
	case k < 45:
		n = r.between(1, 30)
	case k < 85:
		n = r.between(30, 120)
	default:
		n = r.between(120, shortBound-w.t.maxPiece)
	}
	w.text(r, n)
}

func (w *writer) agentDetails(a int) {
	w.key("agent_details")
	w.b = append(w.b, '{')
	w.num("id", agentID(a))
	w.esc("name", w.t.agents[a])
	w.phone("phone", agentPhone(a))
	w.num("phone_country_id", 49)
	w.b = append(w.b, '}')
}

// counts are the sizes of one payload's arrays.
type counts struct {
	notes, events, evNotesMax, calls, disps, docs int
}

// shape draws the payload's size class: most look like the CRM's ~7 KB sample, some
// belong to long-running leads, and a few carry pasted transcripts up to MaxBytes.
func (w *writer) shape() counts {
	r := w.r
	var c counts
	switch k := r.intn(1000); {
	case k < 880:
		c = counts{
			notes: r.geometric(9, maxNotes), events: r.geometric(1.2, 4), evNotesMax: 2,
			calls: r.geometric(2, maxCalls), disps: r.geometric(0.7, maxDisps), docs: r.geometric(0.2, maxDocs),
		}
		w.longPer, w.longMin, w.longMax = 4, 1<<10, 6<<10
	case k < 990:
		c = counts{
			notes: r.between(10, 35), events: r.between(1, 6), evNotesMax: 3,
			calls: r.between(2, 12), disps: r.between(0, 5), docs: r.between(0, maxDocs),
		}
		w.longPer, w.longMin, w.longMax = 15, 1<<10, 8<<10
	default:
		c = counts{
			notes: r.between(25, maxNotes), events: r.between(4, maxEvents), evNotesMax: maxEvNotes,
			calls: r.between(8, maxCalls), disps: r.between(2, maxDisps), docs: r.between(0, maxDocs),
		}
		w.longPer, w.longMin, w.longMax = 500, 2<<10, 32<<10
	}
	w.longBudget = w.g.opts.MaxBytes - baseBound -
		(c.notes+c.events*maxEvNotes)*(noteBound+shortBound) -
		c.events*eventBound - c.calls*callBound - c.disps*dispBound - c.docs*docBound
	return c
}

// pickLead skews towards low indices so a few leads are busy, as in a real CRM.
func (w *writer) pickLead() int {
	u := w.r.float()
	return int(float64(w.g.opts.Leads) * u * u)
}

func (w *writer) action() string {
	r := w.r
	switch k := r.intn(1000); {
	case k < 130:
		return "call_created"
	case k < 190:
		return "call_logged"
	case k < 290:
		return "lead_update"
	case k < 340:
		return "lead_updated"
	case k < 490:
		return "status_update"
	case k < 550:
		return "agent_update"
	case k < 610:
		return "status_and_agent_update"
	case k < 730:
		return "disposition_created"
	case k < 830:
		return "event_update"
	case k < 890:
		return "inquiry_created"
	case k < 990:
		return "note_creation"
	default:
		return unknownActs[r.intn(len(unknownActs))]
	}
}

func (w *writer) leadStatus(action string) string {
	r := w.r
	switch {
	case action == "disposition_created" && r.per(550):
		return "In Call Center"
	case action == "event_update" && r.per(500):
		return [...]string{"Visit done", "Meeting done"}[r.intn(2)]
	case (action == "status_update" || action == "status_and_agent_update") && r.per(400):
		return [...]string{"Booking done", "Failed", "Fail", "Junk"}[r.intn(4)]
	}
	return statuses[r.intn(len(statuses))]
}

func (w *writer) payload() {
	g, r, t := w.g, w.r, w.t
	l := g.lead(w.pickLead())
	now := g.opts.Start + g.seq*2 + int64(r.intn(2))
	w.ascii = r.per(150)
	w.mixTS = r.per(200)
	c := w.shape()
	action := w.action()
	switch action {
	case "call_created", "call_logged":
		c.calls = max(c.calls, 1)
	case "note_creation":
		c.notes = max(c.notes, 1)
	case "event_update":
		c.events = max(c.events, 1)
	case "disposition_created":
		c.disps = max(c.disps, 1)
	}
	status := w.leadStatus(action)
	duplicate := r.per(40)
	proj := l.project

	w.b = append(w.b, '{')
	w.str("channel_name", channels[l.channel])
	w.str("country_code", "+91")
	if l.email < 0 {
		w.null("email")
	} else {
		w.key("email")
		w.b = append(w.b, '"')
		w.b = append(w.b, localParts[l.email]...)
		w.b = strconv.AppendInt(w.b, int64(l.emailNum), 10)
		w.b = append(w.b, '@')
		w.b = append(w.b, emailDomains[l.emailNum%len(emailDomains)]...)
		w.b = append(w.b, '"')
	}
	w.intOrString("lead_id", l.id, 120)
	w.status("lead_status", status)
	switch k := r.intn(1000); {
	case k < 100:
		w.null("last_status")
	case k < 120: // absent
	case k < 420 && (status == "Failed" || status == "Fail" || status == "Junk"):
		w.status("last_status", "In Call Center")
	default:
		w.status("last_status", statuses[r.intn(len(statuses))])
	}
	w.esc("name", t.persons[l.name])
	w.phone("phone", l.phone)
	w.str("source", sources[l.source])
	w.str("sub_source", subSources[l.sub])
	w.str("action", action)
	if r.per(850) {
		w.null("placement")
	} else {
		w.str("placement", [...]string{"feed", "right_column", "instagram_stories"}[r.intn(3)])
	}
	w.esc("project_name", t.projName[proj])
	w.cpData(&l)
	if l.rating < 0 {
		w.null("rating")
	} else {
		w.str("rating", ratings[l.rating])
	}
	w.budget("min_budget", l.budget)
	w.budget("max_budget", l.budget+int64(r.intn(40))*500000)
	if r.per(800) {
		w.null("lead_status_reasons")
	} else {
		w.str("lead_status_reasons", statusReason[r.intn(len(statusReason))])
	}
	if duplicate {
		// The CRM's own sample repeats extra_details: a stub first, the full object
		// later. Whoever parses it must keep the last one, as JavaScript does.
		w.key("extra_details")
		w.b = append(w.b, '{')
		if l.cpID != 0 {
			w.num("cp_id", int64(l.cpID))
		}
		w.key("referral_data")
		w.b = append(w.b, '{', '}', '}')
	} else {
		w.extraDetails(&l)
	}
	w.bookingDetails(status)
	w.bookingDocs(&l, c.docs)
	w.intOrString("project_id", int64(projects[proj].id), 50)
	w.ts("created_at", l.created, 0, tsInt)
	if l.claimed == 0 {
		w.null("claimed_at")
	} else {
		w.ts("claimed_at", l.claimed, 0, tsInt)
	}
	agent := l.agent
	if action == "agent_update" || action == "status_and_agent_update" {
		agent = r.intn(len(agentNames))
	}
	w.str("agent_email", t.agentEmails[agent])
	w.esc("agent_name", t.agents[agent])
	w.esc("project_usp", t.projUSP[proj])
	w.esc("project_description", t.projDesc[proj])
	w.esc("developer", t.projDev[proj])
	w.esc("city", t.projCity[proj])
	w.events(&l, c)
	w.notes(&l, c.notes)
	w.calls(&l, c.calls)
	if duplicate {
		w.extraDetails(&l)
	}
	w.dispositions(&l, c.disps, status)
	w.statusChanges(&l, now)
	if r.per(250) {
		w.flag("is_duplicate", r.per(300))
	}
	w.b = append(w.b, '}')
}

func (w *writer) budget(k string, v int64) {
	switch w.r.intn(10) {
	case 0, 1, 2, 3:
		w.null(k)
	case 4, 5:
		w.key(k)
		w.b = append(w.b, '"')
		w.b = strconv.AppendInt(w.b, v, 10)
		w.b = append(w.b, '"')
	default:
		w.num(k, v)
	}
}

func (w *writer) cpData(l *lead) {
	if l.cpID == 0 {
		if w.r.per(800) {
			w.null("cp_data")
		} else {
			w.key("cp_data")
			w.b = append(w.b, '{', '}')
		}
		return
	}
	cp := derive(w.g.seed, kindLead, uint64(l.idx), 1)
	phone := 9000000000 + int64(cp.intn(999999999))
	w.key("cp_data")
	w.b = append(w.b, '{')
	w.num("id", int64(l.cpID))
	w.esc("name", w.t.persons[cp.intn(len(w.t.persons))])
	w.null("email")
	w.phone("phone_with_country_code", phone)
	w.num("phone_country_id", 49)
	w.str("firm_name", [...]string{"B", "Square Yards", "PropTiger Partner", "Home Bazaar"}[cp.intn(4)])
	w.str("rera_id", [...]string{"V", "A51800012345", "P52100001234"}[cp.intn(3)])
	w.key("locality_hash")
	w.b = append(w.b, '{', '}')
	w.key("city_hash")
	w.b = append(w.b, '{', '}')
	w.key("location_info")
	w.b = append(w.b, '[', ']')
	w.phone("phone", phone)
	w.num("country_id", 49)
	w.b = append(w.b, '}')
}

func (w *writer) extraDetails(l *lead) {
	r := w.r
	w.key("extra_details")
	w.b = append(w.b, '{')
	if l.cpID != 0 {
		w.num("cp_id", int64(l.cpID))
	}
	if r.per(500) {
		if r.per(700) {
			w.num("duplicate_lead_id", l.id-int64(r.between(1, 500000)))
		} else {
			w.null("duplicate_lead_id")
		}
	}
	if r.per(700) {
		w.str("gender", [...]string{"male", "female"}[r.intn(2)])
	}
	if r.per(700) {
		w.flag("is_nri", r.per(150))
	}
	if r.per(600) {
		w.key("address")
		w.text(r, r.between(2, 60))
	}
	if r.per(600) {
		lo := r.between(22, 60)
		w.num("max_age", int64(lo+5))
		w.num("min_age", int64(lo))
	}
	if r.per(600) {
		w.str("industry", industries[r.intn(len(industries))])
	}
	if r.per(500) {
		w.str("ethnicity", ethnicities[r.intn(len(ethnicities))])
	}
	if r.per(600) {
		w.str("occupation", occupations[r.intn(len(occupations))])
	}
	if r.per(400) {
		w.key("designation")
		w.text(r, 1)
	}
	if r.per(400) {
		w.key("company_name")
		w.text(r, 1)
	}
	if r.per(600) {
		w.key("possession_in")
		w.b = append(w.b, '[')
		for m := range 6 {
			if r.per(500) {
				w.comma()
				w.b = strconv.AppendInt(w.b, int64(m+1), 10)
			}
		}
		w.b = append(w.b, ']')
	}
	w.key("referral_data")
	w.b = append(w.b, '{')
	if r.per(300) {
		w.esc("name", w.t.persons[r.intn(len(w.t.persons))])
		w.str("phone", "99999999999")
	}
	w.b = append(w.b, '}')
	if r.per(500) {
		w.num("office_city_id", int64(r.between(1, 500)))
	}
	if r.per(600) {
		w.str("mode_of_payment", payments[r.intn(len(payments))])
	}
	if r.per(500) {
		lo := int64(r.between(5, 100)) * 1000000
		w.intOrString("annual_income_max", lo*3/2, 100)
		w.intOrString("annual_income_min", lo, 100)
	}
	if r.per(600) {
		w.str("purpose_of_purchase", purposes[r.intn(len(purposes))])
	}
	if r.per(500) {
		w.num("current_apartment_type", int64(r.between(1, 5)))
	}
	if r.per(500) {
		w.str("current_residence_type", residences[r.intn(len(residences))])
	}
	w.b = append(w.b, '}')
}

func (w *writer) bookingDetails(status string) {
	r := w.r
	k := r.intn(10)
	if status == "Booking done" && k < 7 {
		k = 9
	}
	switch {
	case k < 5:
		w.null("booking_details")
		return
	case k < 7:
		w.key("booking_details")
		w.b = append(w.b, '{', '}')
		return
	}
	w.key("booking_details")
	w.b = append(w.b, '{')
	num := func(k string, v int) {
		w.key(k)
		w.b = append(w.b, '"')
		w.b = strconv.AppendInt(w.b, int64(v), 10)
		w.b = append(w.b, '"')
	}
	num("area", r.between(350, 3000))
	num("unit_no", r.between(101, 4504))
	num("base_price", r.between(5000, 40000))
	num("floor_number", r.between(0, 45))
	num("parking_price", r.between(0, 20)*50000)
	apt := r.intn(len(aptTypes))
	w.str("apartment_type", aptTypes[apt])
	num("floor_rise_price", r.between(0, 200))
	w.num("apartment_type_id", int64(apt+1))
	w.b = append(w.b, '}')
}

func (w *writer) bookingDocs(l *lead, n int) {
	w.key("booking_docs")
	w.b = append(w.b, '[')
	for d := n - 1; d >= 0; d-- {
		r := derive(w.g.seed, kindDoc, uint64(l.idx), uint64(d))
		created := l.created + l.age*int64(d+8)/12
		ms := r.intn(1000)
		w.comma()
		w.b = append(w.b, '{')
		w.num("id", docIDBase+int64(l.idx)*4+int64(d))
		w.num("lead_id", l.id)
		w.str("booking_doc_type", "link")
		w.key("data")
		w.b = append(w.b, `"https://eventaudio.s3.amazonaws.com/`...)
		for range 24 + r.intn(40) {
			w.b = append(w.b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[r.intn(62)])
		}
		w.b = append(w.b, [...]string{`.png"`, `.jpeg"`, `.pdf"`, `%3D.jpeg"`}[r.intn(4)]...)
		w.str("tag", docTags[r.intn(len(docTags))])
		w.num("status_id", 1)
		w.ts("created_at", created, ms, tsISO)
		w.ts("updated_at", created, ms, tsISO)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

func (w *writer) events(l *lead, c counts) {
	if c.events == 0 {
		if w.r.per(800) {
			w.null("latest_event_details")
		} else {
			w.key("latest_event_details")
			w.b = append(w.b, '{', '}')
		}
	} else {
		ev := w.g.event(l, c.events-1)
		w.key("latest_event_details")
		w.b = append(w.b, '{')
		w.num("event_id", ev.id)
		w.ts("start_time", ev.from, 0, tsInt)
		w.ts("end_time", ev.end, 0, tsInt)
		w.str("event_type", eventTypes[ev.typ])
		w.b = append(w.b, '}')
	}
	w.key("event_details")
	w.b = append(w.b, '[')
	for e := c.events - 1; e >= 0; e-- {
		ev := w.g.event(l, e)
		w.comma()
		w.b = append(w.b, '{')
		w.num("event_id", ev.id)
		w.ts("start_time", ev.from, 0, tsInt)
		w.ts("end_time", ev.end, 0, tsInt)
		w.str("event_type", eventTypes[ev.typ])
		w.str("event_status", eventStatuses[ev.status])
		w.ts("event_created_at", ev.created, 0, tsInt)
		w.ts("event_updated_at", ev.updated, 0, tsInt)
		w.key("notes")
		w.b = append(w.b, '[')
		for j := min(ev.notes, c.evNotesMax) - 1; j >= 0; j-- {
			r := derive(w.g.seed, kindEventNote, uint64(l.idx), uint64(e), uint64(j))
			at := ev.created + int64(j)*60 + int64(r.intn(60))
			a := r.intn(len(agentNames))
			w.comma()
			w.b = append(w.b, '{')
			w.num("note_id", evNoteIDBase+int64(l.idx)*64+int64(e*maxEvNotes+j))
			w.str("note_type", "text")
			w.key("data")
			w.noteText(&r)
			w.num("agent_id", agentID(a))
			w.ts("created_at", at, 0, tsInt)
			w.ts("updated_at", at+int64(r.intn(30)), 0, tsInt)
			w.agentDetails(a)
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ']', '}')
	}
	w.b = append(w.b, ']')
}

func (w *writer) notes(l *lead, n int) {
	gap := l.age / (maxNotes + 2)
	w.key("notes")
	w.b = append(w.b, '[')
	for k := n - 1; k >= 0; k-- {
		r := derive(w.g.seed, kindNote, uint64(l.idx), uint64(k))
		at := l.created + int64(k+1)*gap + int64(r.intn(int(gap)))
		ms := 0
		if r.per(200) {
			ms = r.intn(1000)
		}
		a := r.intn(len(agentNames))
		w.comma()
		w.b = append(w.b, '{')
		typ := "text"
		if r.per(30) {
			typ = "audio"
		}
		w.str("note_type", typ)
		w.key("data")
		if typ == "audio" {
			w.b = append(w.b, `"https://eventaudio.s3.amazonaws.com/note_`...)
			w.b = strconv.AppendInt(w.b, noteIDBase+int64(l.idx)*64+int64(k), 10)
			w.b = append(w.b, `.m4a"`...)
		} else {
			w.noteText(&r)
		}
		w.ts("created_at", at, ms, tsFloat)
		w.ts("updated_at", at+int64(r.intn(2)*r.intn(600)), ms, tsFloat)
		w.num("agent_id", agentID(a))
		w.num("note_id", noteIDBase+int64(l.idx)*64+int64(k))
		w.agentDetails(a)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

func (w *writer) calls(l *lead, n int) {
	gap := l.age / (maxCalls + 2)
	w.key("calls")
	w.b = append(w.b, '[')
	for k := n - 1; k >= 0; k-- {
		r := derive(w.g.seed, kindCall, uint64(l.idx), uint64(k))
		from := l.created + int64(k+1)*gap + int64(r.intn(int(gap)))
		var dur int
		switch k := r.intn(100); {
		case k < 25:
			dur = 0
		case k < 35:
			dur = 60 // the documented threshold is "more than 60", so exactly 60 matters
		case k < 65:
			dur = r.between(1, 59)
		default:
			dur = r.between(61, 1800)
		}
		a := r.intn(len(agentNames))
		inserted := from + int64(dur) + int64(r.intn(10))
		w.comma()
		w.b = append(w.b, '{')
		w.str("action", callActions[r.intn(len(callActions))])
		w.agentDetails(a)
		w.phone("call_number", l.phone)
		w.num("duration_in_sec", int64(dur))
		w.ts("end_time", from+int64(dur), 0, tsInt)
		first := legStatuses[r.intn(len(legStatuses))]
		w.str("first_leg_status", first)
		w.phone("from", agentPhone(a))
		w.num("id", callIDBase+int64(l.idx)*32+int64(k))
		w.ts("inserted_at", inserted, 0, tsInt)
		if dur == 0 {
			w.null("recording_url")
		} else {
			w.key("recording_url")
			w.b = append(w.b, `"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/anarock/`...)
			w.b = strconv.AppendUint(w.b, r.next(), 16)
			w.b = append(w.b, `.mp3"`...)
		}
		second := "completed"
		if dur == 0 {
			second = legStatuses[1+r.intn(len(legStatuses)-1)]
		}
		w.str("second_leg_status", second)
		w.ts("start_time", from, 0, tsInt)
		w.phone("to", l.phone)
		w.ts("updated_at", inserted, 0, tsInt)
		if r.per(300) {
			w.str("stage", callStages[r.intn(len(callStages))])
			w.key("sid")
			w.b = append(w.b, '"')
			w.b = strconv.AppendUint(w.b, r.next(), 36)
			w.b = append(w.b, '"')
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

func (w *writer) dispositions(l *lead, n int, status string) {
	gap := l.age / (maxDisps + 2)
	// The documented hooks read dispositions[0]: make the latest one agree with the
	// status often enough for those rules to fire.
	first := -1
	switch {
	case status == "In Call Center" && w.r.per(500):
		first = [...]int{1, 2, 7}[w.r.intn(3)]
	case (status == "Failed" || status == "Fail" || status == "Junk") && w.r.per(500):
		first = [...]int{0, 4}[w.r.intn(2)]
	}
	w.key("dispositions")
	w.b = append(w.b, '[')
	for d := n - 1; d >= 0; d-- {
		r := derive(w.g.seed, kindDisp, uint64(l.idx), uint64(d))
		typ := r.intn(len(dispositionTypes))
		if d == n-1 && first >= 0 {
			typ = first
		}
		w.comma()
		w.b = append(w.b, '{')
		w.num("id", dispIDBase+int64(l.idx)*16+int64(d))
		w.esc("agent_name", w.t.agents[r.intn(len(agentNames))])
		w.str("disposition_type", dispositionTypes[typ])
		w.ts("created_at", l.created+int64(d+1)*gap+int64(r.intn(int(gap))), 0, tsInt)
		if r.per(300) {
			w.str("reason", dispReasons[r.intn(len(dispReasons))])
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

func (w *writer) statusChanges(l *lead, now int64) {
	r := w.r
	if r.per(30) {
		w.key("status_changes")
		w.b = append(w.b, '{', '}')
		return
	}
	w.key("status_changes")
	w.b = append(w.b, '{')
	at := l.created
	step := max((now-l.created)/int64(len(statusMoves)+1), 1)
	for _, k := range statusMoves {
		at += int64(r.intn(int(step)))
		if !r.per(400) {
			continue
		}
		if r.per(50) {
			w.null(k)
			continue
		}
		w.ts(k, at, 0, tsInt)
	}
	switch k := r.intn(10); {
	case k < 3:
		w.status("status_before_cc", statuses[r.intn(len(statuses))])
	case k < 5:
		w.null("status_before_cc")
	}
	w.b = append(w.b, '}')
}
