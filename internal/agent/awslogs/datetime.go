package awslogs

import (
	"regexp"
	"strings"
)

// strftime maps the directives the Docker awslogs driver understands in
// awslogs-datetime-format to the regular expressions it matches them with.
var strftime = map[byte]string{
	'a': `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)`,
	'A': `(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)`,
	'b': `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`,
	'B': `(?:January|February|March|April|May|June|July|August|September|October|November|December)`,
	'd': `(?:0[1-9]|[1,2][0-9]|3[0,1])`,
	'H': `(?:[0,1][0-9]|2[0-3])`,
	'I': `(?:0[0-9]|1[0-2])`,
	'j': `(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])`,
	'L': `\.\d{3}`,
	'm': `(?:0[1-9]|1[0-2])`,
	'M': `[0-5][0-9]`,
	'p': `[A,P]M`,
	'S': `[0-5][0-9]`,
	'U': `(?:[0-4][0-9]|5[0-3])`,
	'w': `[0-6]`,
	'W': `(?:[0-4][0-9]|5[0-3])`,
	'y': `\d{2}`,
	'Y': `\d{4}`,
	'z': `[+-]\d{4}`,
	'Z': `[A-Za-z]{1,5}`,
	'f': `\d{6}`,
	'%': `%`,
}

// DatetimeRegexp turns an awslogs-datetime-format (strftime-like, e.g.
// "%Y-%m-%d %H:%M:%S") into an unanchored regular expression: directives
// become their patterns, all other text matches literally.
func DatetimeRegexp(format string) string {
	var b strings.Builder
	lit := func(s string) { b.WriteString(regexp.QuoteMeta(s)) }
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			if re, ok := strftime[format[i+1]]; ok {
				b.WriteString(re)
				i++
				continue
			}
		}
		lit(format[i : i+1])
	}
	return b.String()
}
