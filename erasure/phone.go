package erasure

import "strings"

// NationalNumber is the part of a phone number erasure compares: its digits, the last ten when
// it has ten or more (India's national numbers are ten digits, so "+91 99999 99988",
// "09999999988" and "9999999988" are one number), otherwise all of them without leading zeros.
// It is "" for text without digits. sql migration 0021 computes the same for the analysts'
// phone_hash, and a test compares the two.
func NationalNumber(phone string) string {
	var b strings.Builder
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	d := b.String()
	if len(d) >= 10 {
		return d[len(d)-10:]
	}
	return strings.TrimLeft(d, "0")
}

// minPhoneDigits is the fewest digits a run of text must have to be taken for a phone number
// when bodies are searched: fewer would take dates, amounts and flat numbers for phones.
const minPhoneDigits = 7

// phoneRuns returns the national numbers of the runs of digits in text that may be phone numbers:
// at least minPhoneDigits digits, with at most two of the separators people write numbers with
// (spaces, dots, dashes, parentheses, plus signs) between two digits: "+91 99999-99988",
// "(022) 2345 6789".
func phoneRuns(text []byte) []string {
	var runs []string
	var digits []byte
	seps := 0 // separators since the last digit
	flush := func() {
		if len(digits) >= minPhoneDigits {
			if n := NationalNumber(string(digits)); n != "" {
				runs = append(runs, n)
			}
		}
		digits, seps = digits[:0], 0
	}
	for _, c := range text {
		switch c {
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			digits = append(digits, c)
			seps = 0
		case ' ', '-', '.', '(', ')', '+':
			if seps++; seps > 2 {
				flush()
			}
		default:
			flush()
		}
	}
	flush()
	return runs
}
