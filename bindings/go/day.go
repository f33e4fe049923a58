package clv

/*
#include <stdlib.h>
#include <clv/clv.h>
*/
import "C"

import (
	"time"
	"unsafe"
)

// Day is a calendar day as libclv counts them: days since 1970-01-01, UTC.
type Day int32

// ParseDay parses "YYYY-MM-DD", "YYYYMMDD" or an ISO 8601 timestamp (a zone
// is converted to UTC first), exactly as libclv reads dates in files.
func ParseDay(text string) (Day, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var d C.int32_t
	err := call(func() C.int { return C.clv_date_parse(ctext, &d) })
	return Day(d), err
}

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	return Day(t.UTC().Truncate(24*time.Hour).Unix() / 86400)
}

// Time returns midnight UTC of the day.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as "YYYY-MM-DD".
func (d Day) String() string { return d.Time().Format("2006-01-02") }
