package clv

/*
#include <stdlib.h>
#include <clv/clv.h>
*/
import "C"

import (
	"runtime"
	"strings"
	"unsafe"
)

// Event is the type of a log row.
type Event int32

const (
	EventPurchase Event = C.CLV_EVENT_PURCHASE
	EventView     Event = C.CLV_EVENT_VIEW
	EventClick    Event = C.CLV_EVENT_CLICK
	EventCart     Event = C.CLV_EVENT_CART
)

// ColumnRole names what a column of a delimited file holds (TxLog.SetColumn).
type ColumnRole int32

const (
	ColumnCustomer ColumnRole = C.CLV_COLUMN_CUSTOMER
	ColumnDate     ColumnRole = C.CLV_COLUMN_DATE
	ColumnAmount   ColumnRole = C.CLV_COLUMN_AMOUNT
	ColumnQuantity ColumnRole = C.CLV_COLUMN_QUANTITY
	ColumnEvent    ColumnRole = C.CLV_COLUMN_EVENT
	ColumnCategory ColumnRole = C.CLV_COLUMN_CATEGORY
)

// Row policies (docs/data-format.md).
type (
	NegativePolicy  int32
	ZeroPolicy      int32
	DuplicatePolicy int32
	OrderPolicy     int32
)

const (
	NegativeNet    NegativePolicy  = C.CLV_NEGATIVE_NET
	NegativeDrop   NegativePolicy  = C.CLV_NEGATIVE_DROP
	NegativeError  NegativePolicy  = C.CLV_NEGATIVE_ERROR
	ZeroKeep       ZeroPolicy      = C.CLV_ZERO_KEEP
	ZeroDrop       ZeroPolicy      = C.CLV_ZERO_DROP
	ZeroError      ZeroPolicy      = C.CLV_ZERO_ERROR
	DuplicateKeep  DuplicatePolicy = C.CLV_DUPLICATE_KEEP
	DuplicateDrop  DuplicatePolicy = C.CLV_DUPLICATE_DROP
	DuplicateError DuplicatePolicy = C.CLV_DUPLICATE_ERROR
	OrderAny       OrderPolicy     = C.CLV_ORDER_ANY
	OrderError     OrderPolicy     = C.CLV_ORDER_ERROR
	HeaderDetect                   = -1 // TxLogOptions.Header: guess from the first line
	HeaderAbsent                   = 0
	HeaderPresent                  = 1
)

// TxLogOptions configures a TxLog; start from DefaultTxLogOptions.
type TxLogOptions struct {
	Strict          bool  // the first bad row stops reading with ErrFormat (default); else skip and count
	Delimiter       byte  // 0 = detect among , TAB ; | and runs of spaces
	Header          int32 // HeaderDetect (default), HeaderAbsent or HeaderPresent
	NegativePolicy  NegativePolicy
	ZeroPolicy      ZeroPolicy
	DuplicatePolicy DuplicatePolicy
	OrderPolicy     OrderPolicy
	MaxLineBytes    uint32
	Threads         uint32 // CSV parsing threads: 1 (default), 0 = per CPU; a read uses at most 2
}

// DefaultTxLogOptions returns libclv's defaults.
func DefaultTxLogOptions() TxLogOptions {
	var c C.clv_txlog_options
	C.clv_txlog_options_init(&c)
	return TxLogOptions{
		Strict:          c.strict != 0,
		Delimiter:       byte(c.delimiter),
		Header:          int32(c.header),
		NegativePolicy:  NegativePolicy(c.negative_policy),
		ZeroPolicy:      ZeroPolicy(c.zero_policy),
		DuplicatePolicy: DuplicatePolicy(c.duplicate_policy),
		OrderPolicy:     OrderPolicy(c.order_policy),
		MaxLineBytes:    uint32(c.max_line_bytes),
		Threads:         uint32(c.threads),
	}
}

func (o *TxLogOptions) toC() C.clv_txlog_options {
	var c C.clv_txlog_options
	C.clv_txlog_options_init(&c)
	c.strict = boolInt(o.Strict)
	c.delimiter = C.int32_t(o.Delimiter)
	c.header = C.int32_t(o.Header)
	c.negative_policy = C.int32_t(o.NegativePolicy)
	c.zero_policy = C.int32_t(o.ZeroPolicy)
	c.duplicate_policy = C.int32_t(o.DuplicatePolicy)
	c.order_policy = C.int32_t(o.OrderPolicy)
	c.max_line_bytes = C.uint32_t(o.MaxLineBytes)
	c.threads = C.uint32_t(o.Threads)
	return c
}

// Report counts what reads did (for a read call: that call's rows plus the
// log's totals).
type Report struct {
	RowsRead, RowsUsed, BadRows                           uint64
	NegativeRows, ZeroRows, DuplicateRows, OutOfOrderRows uint64
	Customers, CustomerDays                               uint64
	FirstDay, LastDay                                     Day // 0 while the log is empty
}

func reportFromC(c *C.clv_txlog_report) Report {
	return Report{
		RowsRead: uint64(c.rows_read), RowsUsed: uint64(c.rows_used), BadRows: uint64(c.bad_rows),
		NegativeRows: uint64(c.negative_rows), ZeroRows: uint64(c.zero_rows),
		DuplicateRows: uint64(c.duplicate_rows), OutOfOrderRows: uint64(c.out_of_order_rows),
		Customers: uint64(c.customers), CustomerDays: uint64(c.customer_days),
		FirstDay: Day(c.first_day), LastDay: Day(c.last_day),
	}
}

// TxLog is an ingested transaction log: one record per customer and day.
// A log has a single writer; read-only uses (Pipeline.Transform,
// Forecaster.Predict) may share it between goroutines.
type TxLog struct {
	ptr *C.clv_txlog
}

// NewTxLog creates an empty log; opts nil means DefaultTxLogOptions.
func NewTxLog(opts *TxLogOptions) (*TxLog, error) {
	var copts *C.clv_txlog_options
	if opts != nil {
		c := opts.toC()
		copts = &c
	}
	var p *C.clv_txlog
	if err := call(func() C.int { return C.clv_txlog_new(&p, copts) }); err != nil {
		return nil, err
	}
	l := &TxLog{ptr: p}
	runtime.SetFinalizer(l, (*TxLog).Close)
	return l, nil
}

// Close frees the log. It is safe to call more than once.
func (l *TxLog) Close() error {
	if l.ptr != nil {
		C.clv_txlog_free(l.ptr)
		l.ptr = nil
		runtime.SetFinalizer(l, nil)
	}
	return nil
}

// SetColumn maps a role to a header name (case-insensitive) or, with name
// "", to a 1-based column index. ColumnCategory adds one more categorical
// column per call, only while the log is empty.
func (l *TxLog) SetColumn(role ColumnRole, name string, index int) error {
	if l.ptr == nil {
		return closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	var cname *C.char
	if name != "" {
		cname = C.CString(name)
		defer C.free(unsafe.Pointer(cname))
	}
	return call(func() C.int { return C.clv_txlog_set_column(l.ptr, C.int32_t(role), cname, C.int32_t(index)) })
}

// ReadCSV streams a delimited text file into the log.
func (l *TxLog) ReadCSV(path string) (Report, error) {
	if l.ptr == nil {
		return Report{}, closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var r C.clv_txlog_report
	C.clv_txlog_report_init(&r)
	err := call(func() C.int { return C.clv_txlog_read_csv(l.ptr, cpath, &r) })
	return reportFromC(&r), err
}

// ReadCSVBytes reads delimited text from memory; name (may be "") appears in messages.
func (l *TxLog) ReadCSVBytes(data []byte, name string) (Report, error) {
	if l.ptr == nil {
		return Report{}, closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	var cname *C.char
	if name != "" {
		cname = C.CString(name)
		defer C.free(unsafe.Pointer(cname))
	}
	var r C.clv_txlog_report
	C.clv_txlog_report_init(&r)
	var p *C.char
	if len(data) > 0 {
		p = (*C.char)(unsafe.Pointer(&data[0]))
	}
	err := call(func() C.int { return C.clv_txlog_read_csv_buffer(l.ptr, p, C.size_t(len(data)), cname, &r) })
	return reportFromC(&r), err
}

// Rows are transactions given as parallel slices (one entry per row).
// Quantities and Events may be nil (one item, EventPurchase).
type Rows struct {
	IDs        []string // customer ids (for Append)
	Days       []Day
	Amounts    []float32
	Quantities []float32
	Events     []Event
}

func (r *Rows) check(n int) error {
	if len(r.Days) != n || len(r.Amounts) != n {
		return errorf(ErrShape, "rows: %d ids, %d days, %d amounts: all must have the same length", n, len(r.Days), len(r.Amounts))
	}
	if r.Quantities != nil && len(r.Quantities) != n {
		return errorf(ErrShape, "rows: %d quantities for %d rows", len(r.Quantities), n)
	}
	if r.Events != nil && len(r.Events) != n {
		return errorf(ErrShape, "rows: %d events for %d rows", len(r.Events), n)
	}
	return nil
}

func (r *Rows) pointers() (*C.int32_t, *C.float, *C.float, *C.int32_t) {
	days := (*C.int32_t)(unsafe.Pointer(&r.Days[0]))
	var events *C.int32_t
	if len(r.Events) > 0 {
		events = (*C.int32_t)(unsafe.Pointer(&r.Events[0]))
	}
	return days, floatPtr(r.Amounts), floatPtr(r.Quantities), events
}

// Append adds rows with string customer ids. Rows are validated as file rows
// are; the error message names the row index.
func (l *TxLog) Append(rows Rows) (Report, error) {
	if l.ptr == nil {
		return Report{}, closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	n := len(rows.IDs)
	if err := rows.check(n); err != nil || n == 0 {
		return Report{}, err
	}
	// libclv wants char*[]: pack the ids into one C buffer and point into it.
	size := 0
	for i, id := range rows.IDs {
		if strings.IndexByte(id, 0) >= 0 {
			return Report{}, errorf(ErrInvalid, "row %d: customer id %q contains a NUL byte", i, id)
		}
		size += len(id) + 1
	}
	buf := unsafe.Slice((*byte)(C.malloc(C.size_t(size))), size)
	defer C.free(unsafe.Pointer(&buf[0]))
	ids := make([]*C.char, n) // Go memory holding C pointers: allowed by cgo
	off := 0
	for i, id := range rows.IDs {
		copy(buf[off:], id)
		buf[off+len(id)] = 0
		ids[i] = (*C.char)(unsafe.Pointer(&buf[off]))
		off += len(id) + 1
	}
	days, amounts, qty, events := rows.pointers()
	var r C.clv_txlog_report
	C.clv_txlog_report_init(&r)
	err := call(func() C.int {
		return C.clv_txlog_append(l.ptr, C.uint64_t(n), &ids[0], days, amounts, qty, events, &r)
	})
	return reportFromC(&r), err
}

// AppendU64 adds rows with integer customer ids (stored as decimal text, so
// 42 here and "42" in a file are the same customer); rows.IDs is ignored.
func (l *TxLog) AppendU64(ids []uint64, rows Rows) (Report, error) {
	if l.ptr == nil {
		return Report{}, closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	n := len(ids)
	if err := rows.check(n); err != nil || n == 0 {
		return Report{}, err
	}
	days, amounts, qty, events := rows.pointers()
	var r C.clv_txlog_report
	C.clv_txlog_report_init(&r)
	err := call(func() C.int {
		return C.clv_txlog_append_u64(l.ptr, C.uint64_t(n), (*C.uint64_t)(unsafe.Pointer(&ids[0])), days, amounts, qty, events, &r)
	})
	return reportFromC(&r), err
}

// Report returns the log's totals.
func (l *TxLog) Report() (Report, error) {
	if l.ptr == nil {
		return Report{}, closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	var r C.clv_txlog_report
	C.clv_txlog_report_init(&r)
	err := call(func() C.int { return C.clv_txlog_get_report(l.ptr, &r) })
	return reportFromC(&r), err
}
