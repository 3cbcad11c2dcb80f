package gen

import "fmt"

// Source text. These tables are read-only; New escapes them once into a Generator so
// that Next only copies bytes.

// notePhrases are what sales agents type into notes: English, Hinglish, shorthand.
var notePhrases = []string{
	"revisit done",
	"site revisit done",
	"Site visit is done now it is also for site visit plan for site visit in couple of hours",
	"Visited an another visitor schedule 2 hours",
	"Meeting is another meeting schedule in 2 hours",
	"97004 meeting at today evening at 5:30 p.m.",
	"would like to bring his wife along, also interested in 2BHK",
	"client wants 2BHK east facing, floor above 10",
	"call back tomorrow after 11 am",
	"RNR",
	"not reachable, switched off",
	"busy, asked to call on weekend",
	"budget 1.2 Cr all inclusive",
	"budget is 85L max, loan pre-approved from HDFC",
	"sent brochure and floor plan on WhatsApp",
	"asked for cost sheet of tower B",
	"interested in 3BHK sea view",
	"wants possession by Dec 2020",
	"already booked elsewhere",
	"looking for rental, not purchase",
	"wrong number",
	"spoke to wife, husband will decide",
	"NRI client, based in Dubai, will visit in June",
	"F2F done at client office in BKC",
	"cheque collected for token amount 51,000",
	"negotiating on floor rise and parking",
	"kal call karna, abhi meeting mein hai",
	"bhai sahab busy hai, shaam ko baat karenge",
	"budget thoda kam hai, 1BHK dekhna hai",
	"site visit ke liye Sunday confirm kiya",
	"customer ne bola price zyada hai",
	"follow up after Diwali",
	"interested but comparing with Lodha and Godrej",
	"asked about carpet area vs built-up area",
	"pls share payment plan 10:90",
	"duplicate lead, merged with older one",
	"visit rescheduled to 4 pm",
	"CP brought the client, CP id mentioned in form",
}

// hindiPhrases are notes typed in Devanagari.
var hindiPhrases = []string{
	"ग्राहक को 2BHK चाहिए",
	"कल फिर से कॉल करें",
	"साइट विज़िट हो गई",
	"बजट कम है",
	"पत्नी से बात करके बताएंगे",
	"नमस्ते, आपकी मीटिंग शाम 5 बजे है",
	"धन्यवाद",
	"ग्राहक ने बुकिंग राशि जमा कर दी",
	"फ़ोन नहीं उठाया",
	"लोन की स्वीकृति बाकी है",
	"पुणे में प्रोजेक्ट देखना चाहते हैं",
	"फ्लोर प्लान व्हाट्सएप पर भेजा",
}

// emojis include characters outside the Basic Multilingual Plane, which need
// surrogate pairs when escaped.
var emojis = []string{"👍", "🏠", "📞", "🙏", "😊", "🔥", "✅", "❌", "💰", "🏢", "⭐", "🤝", "👨‍👩‍👧"}

// trickyPhrases need escaping or are otherwise awkward for a JSON or SQL pipeline.
var trickyPhrases = []string{
	`client said "not now", call next week`,
	`docs saved in C:\Users\agent\Documents\booking`,
	`regex in sheet was \d+\s*BHK`,
	"address line 1\naddress line 2\nMumbai 400054",
	"tab\tseparated\tvalues from excel",
	"windows line\r\nbreak",
	"</script><script>alert(1)</script>",
	"line\u2028separator and paragraph\u2029separator",
	"'; DROP TABLE leads; --",
	"price is ₹1,20,00,000 (1.2 Cr)",
	"50% paid, 50% on possession",
	`{"not":"json inside a note"}`,
	"bell\u0007 and escape\u001b characters pasted from a terminal",
	"Ünïcödé cafés naïve résumé",
}

// transcriptLines build the long notes: a call transcript or an email pasted into a
// note, the source of the CRM's multi-kilobyte payloads.
var transcriptLines = []string{
	"Agent: Good evening sir, I am calling from Anarock regarding your enquiry on Facebook.",
	"Customer: Yes, I had filled the form. Tell me about the 2BHK configuration.",
	"Agent: The 2BHK is 750 sq ft carpet, the all inclusive price is 1.45 Cr.",
	"Customer: That is above my budget, is there any offer running this month?",
	"Agent: There is a festive offer, no floor rise till the 12th floor and free parking.",
	"Customer: Can you send the cost sheet on WhatsApp? I will discuss with my wife.",
	"Agent: Sure sir, sending now. Shall I book a site visit for Saturday at 11?",
	"Customer: Saturday is fine, but keep it after lunch.",
	"ग्राहक: ठीक है, शनिवार को मिलते हैं।",
	"Agent: Done, I have scheduled the visit. You will get an SMS confirmation.",
	"-----Original Message-----",
	"From: \"Sharma, Rahul\" <rahul.sharma@example.com>",
	"Subject: RE: Payment schedule for unit 1204, Tower \"C\"",
	"Please find attached the signed booking form and the cancelled cheque.",
	"Regards,\nRahul",
}

// personNames are lead names: some with a trailing space as in the CRM's own sample,
// some in Devanagari, some with quotes.
var personNames = []string{
	"History ",
	"Rahul Sharma",
	"Priya Patel",
	"Amit Kumar",
	"Sneha Iyer",
	"Mohammed Irfan Shaikh",
	"Anil D'Souza",
	`Vikram "Vicky" Singh`,
	"राहुल शर्मा",
	"प्रिया वर्मा",
	"Deepa Nair ",
	"Karan Mehta",
	"Fatima Begum",
	"Suresh Reddy",
	"Neha Gupta 🙂",
	"Rajesh Ghosh",
	"Ananya Bose",
	"",
}

// agentNames are the sales and call-center agents.
var agentNames = []string{
	"Tanvi Tyagi", "Ritesh Kumar", "Pooja Kulkarni", "Arjun Nair", "Sameer Khan",
	"Kavita Joshi", "रोहित यादव", "Manish Chauhan", "Ayesha Siddiqui", "Nikhil Rao",
	"Sunita Das", "Harpreet Kaur", "Vivek Menon", "Shweta Tiwari", "Imran Qureshi",
	"Lakshmi Narayanan",
}

type project struct {
	name, city, developer, usp, description string
	id                                      int
}

var projects = []project{
	{"santacruz", "Mumbai", "some developer", "some usp", "some usp", 1046},
	{"Godrej Emerald", "Thane", "Godrej Properties", "Lake facing towers", "2 & 3 BHK near Ghodbunder Road", 1102},
	{"Lodha Palava", "Dombivli", "Lodha Group", "Smart city, 4500 acres", "Integrated township with schools & malls", 988},
	{"Prestige Lakeside", "Bengaluru", "Prestige Group", "75% open space", "Villas & apartments at Varthur", 1201},
	{"DLF Camellias", "Gurugram", "DLF", "Golf course views", "Ultra luxury \"super-premium\" residences", 1310},
	{"Kolte Patil Life Republic", "Pune", "Kolte Patil", "390 acre township", "Plots, rows houses & apartments in Hinjewadi", 877},
	{"Sobha Dream Acres", "Bengaluru", "Sobha", "Near ORR", "1 & 2 BHK for young families", 1411},
	{"मैजिक हाइट्स", "Noida", "Magic Buildcon", "मेट्रो के पास", "सेक्टर 76 में 2 और 3 BHK", 1502},
}

var (
	sources      = []string{"facebook", "google", "99acres", "magicbricks", "housing", "website", "walk_in", "channel_partner", "referral"}
	subSources   = []string{"leadgen", "search", "display", "organic", "email", "sms", "hoarding", ""}
	channels     = []string{"agent_app", "web", "api", "call_center", "website_form"}
	emailDomains = []string{"gmail.com", "yahoo.co.in", "hotmail.com", "rediffmail.com", "outlook.com"}
	localParts   = []string{"rahul", "priya.p", "amit_k", "sneha.iyer", "irfan", "dsouza.anil", "vicky", "deepa", "karan88", "fatima"}
	industries   = []string{"Government and Public Administration", "IT", "Banking", "Manufacturing", "Healthcare", "Education", "Retail"}
	ethnicities  = []string{"Bengali", "Marathi", "Gujarati", "Punjabi", "Tamil", "Malayali", "Marwari"}
	occupations  = []string{"Professional", "Salaried", "Self Employed", "Business", "Retired"}
	payments     = []string{"Loan", "Self Funded", "Both"}
	purposes     = []string{"Self Use", "Investment", "Both"}
	residences   = []string{"Family Owned", "Rented", "Company Provided", "Self Owned"}
	docTags      = []string{"cancelled_cheque", "booking_form", "pan_card", "aadhaar_card", "cost_sheet"}
	aptTypes     = []string{"1 RK", "1 BHK", "2 BHK", "2.5 BHK", "3 BHK", "4 BHK", "Villa"}
	statusReason = []string{"Budget mismatch", "Location not suitable", "Bought elsewhere", "Not reachable", "Low intent"}
	dispReasons  = []string{"failure reason", "customer not interested", "number busy", "call disconnected", "asked to call later"}
	unknownActs  = []string{"lead_merged", "lead_deleted", "site_visit_rescheduled", "cp_update", "LEAD_UPDATE"}
)

// Documented enumerations, including every published spelling (see known-variants.md).
var (
	actions = []string{
		"call_created", "call_logged", "lead_update", "lead_updated", "status_update",
		"agent_update", "status_and_agent_update", "disposition_created", "event_update",
		"inquiry_created", "note_creation",
	}
	statuses = []string{
		"New", "Fresh", "Claimed", "Interest", "Interested", "Meeting done", "Visit done",
		"Final negotiation", "Final negotitaion", "Booking done", "Fail", "Failed", "Junk",
		"In Call Center",
	}
	dispositionTypes = []string{"failed", "follow_up", "followup", "fresh", "junk", "patch_out", "not_contacted", "call_back"}
	eventTypes       = []string{"followup", "sv", "f2f"}
	eventStatuses    = []string{"scheduled", "completed", "cancelled", "rescheduled"}
	legStatuses      = []string{"completed", "failed", "no-answer", "busy"}
	callActions      = []string{"incoming", "outgoing", "click_to_call"}
	callStages       = []string{"connected", "ringing", "missed", "voicemail"}
	ratings          = []string{"Hot", "Cold", "Warm"}
	statusMoves      = []string{
		"moved_to_new", "moved_to_claimed", "moved_to_interested", "moved_to_meeting_done",
		"moved_to_visit_done", "moved_to_final_negotiation", "moved_to_booking_done",
		"moved_to_failed", "moved_to_junk", "moved_to_in_transfer", "moved_to_linked",
		"moved_to_fresh", "moved_to_in_call_center",
	}
)

// Documented returns the documented enumerations the generator covers, keyed by
// field ("action", "lead_status", "disposition_type", "event_type"), so tests
// elsewhere can check that they handle every value. The slices are copies.
func Documented() map[string][]string {
	cp := func(s []string) []string { return append([]string(nil), s...) }
	return map[string][]string{
		"action":           cp(actions),
		"lead_status":      cp(statuses),
		"disposition_type": cp(dispositionTypes),
		"event_type":       cp(eventTypes),
	}
}

// escaped is a table entry pre-escaped both ways (UTF-8 kept, or all-ASCII \u form).
type escaped struct{ utf8, ascii string }

type table []escaped

func compile(src []string) table {
	t := make(table, len(src))
	for i, s := range src {
		t[i] = escaped{
			utf8:  string(appendEscaped(nil, s, false)),
			ascii: string(appendEscaped(nil, s, true)),
		}
	}
	return t
}

// texts holds one Generator's escaped tables.
type texts struct {
	notes, hindi, emoji, tricky, transcript, persons, agents table
	projName, projCity, projDev, projUSP, projDesc           table
	agentEmails                                              []string
	maxPiece                                                 int
}

func newTexts() *texts {
	t := &texts{
		notes:      compile(notePhrases),
		hindi:      compile(hindiPhrases),
		emoji:      compile(emojis),
		tricky:     compile(trickyPhrases),
		transcript: compile(transcriptLines),
		persons:    compile(personNames),
		agents:     compile(agentNames),
	}
	for i, name := range agentNames {
		email := make([]byte, 0, len(name)+12)
		for _, c := range []byte(name) {
			switch {
			case c >= 'A' && c <= 'Z':
				email = append(email, c+'a'-'A')
			case c == ' ':
				email = append(email, '.')
			case c < 0x80:
				email = append(email, c)
			}
		}
		if len(email) < len(name)/2 { // not Latin script: the CRM falls back to an id
			email = fmt.Appendf(email[:0], "agent%d", i)
		}
		t.agentEmails = append(t.agentEmails, string(email)+"@anarock.com")
	}
	for _, p := range projects {
		t.projName = append(t.projName, compile([]string{p.name})...)
		t.projCity = append(t.projCity, compile([]string{p.city})...)
		t.projDev = append(t.projDev, compile([]string{p.developer})...)
		t.projUSP = append(t.projUSP, compile([]string{p.usp})...)
		t.projDesc = append(t.projDesc, compile([]string{p.description})...)
	}
	for _, tb := range []table{t.notes, t.hindi, t.emoji, t.tricky, t.transcript} {
		for _, e := range tb {
			t.maxPiece = max(t.maxPiece, len(e.ascii), len(e.utf8))
		}
	}
	return t
}
