// Package clv is the Go binding of libclv, a C library that predicts customer
// lifetime value from transaction logs: a feature pipeline, LSTM/GRU sequence
// models and a ready-made forecaster, the classic BG/NBD, Pareto/NBD and
// Gamma-Gamma baselines, metrics and honest backtests.
//
// The binding uses cgo and finds libclv with pkg-config (module clv), so
// libclv's headers and libclv.so must be installed where pkg-config looks.
//
// Conventions:
//   - Every fallible call returns an error. It is a *Error carrying the
//     libclv status and libclv's message; errors.Is(err, clv.ErrInvalid) and
//     the other Err* sentinels test the status.
//   - Objects that own C memory (TxLog, Pipeline, Dataset, Model, Workspace,
//     Optimizer, Forecaster) have an idempotent Close. A finalizer frees
//     anything forgotten, but Close is the way to release C memory promptly.
//     Calling a method after Close returns an ErrState error; Close must not
//     run while another goroutine still uses the object.
//   - Slices go to C without copies (libclv only reads them during the call
//     and keeps no pointer to Go memory). Results come back as Go slices and
//     structs that own their memory.
//   - Concurrency follows docs/threading.md: a handle is used by one
//     goroutine at a time, except the read-only calls documented as safe
//     (Model.Predict with one Workspace per goroutine or none,
//     Forecaster.Predict, Pipeline.Transform), which any number of
//     goroutines may run at once on a shared, fitted object.
package clv

/*
#cgo pkg-config: clv
#include <stdlib.h>
#include <clv/clv.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Version is the version of the libclv library loaded at run time ("0.1.0").
func Version() string { return C.GoString(C.clv_version()) }

// VersionNumber is MAJOR*10000 + MINOR*100 + PATCH of the loaded library.
func VersionNumber() uint32 { return uint32(C.clv_version_number()) }

// ABIVersion is the ABI major (the soname's number) of the loaded library.
func ABIVersion() uint32 { return uint32(C.clv_abi_version()) }

// HeaderVersion is the version of the libclv headers this package was
// compiled against; it differs from Version when the library was upgraded
// underneath a built program.
const HeaderVersion = C.CLV_VERSION_STRING

// ModelFormatVersion is the major and minor model file format this libclv writes.
func ModelFormatVersion() (major, minor uint32) {
	return uint32(C.clv_model_format_major()), uint32(C.clv_model_format_minor())
}

// FileFormatVersion reads the format version from a model file's header
// without loading or trusting the rest of it.
func FileFormatVersion(path string) (major, minor uint32, err error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var ma, mi C.uint32_t
	err = call(func() C.int { return C.clv_file_format_version(cpath, &ma, &mi) })
	return uint32(ma), uint32(mi), err
}

// SetBLASThreads sets OpenBLAS's thread count for the whole process (libclv
// never changes it by itself). Use 1 when goroutines already run requests in
// parallel. Call it at start-up, before other goroutines use libclv.
func SetBLASThreads(n int) error {
	return call(func() C.int { return C.clv_blas_set_num_threads(C.int32_t(n)) })
}

// BLASThreads returns OpenBLAS's current thread count.
func BLASThreads() int { return int(C.clv_blas_num_threads()) }

// call runs one libclv call and, on failure, reads libclv's thread-local
// message on the same OS thread: a goroutine may otherwise migrate between
// the call and the read and pick up another thread's message.
func call(fn func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := fn(); rc != 0 {
		return &Error{Status: Status(rc), Message: C.GoString(C.clv_last_error())}
	}
	return nil
}

// Pointers to the first element of a slice, nil for an empty one, so a
// caller's slice reaches C without a copy. The slices hold no Go pointers,
// as cgo requires.
func floatPtr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func int32Ptr(s []int32) *C.int32_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int32_t)(unsafe.Pointer(&s[0]))
}

// cFloats copies a borrowed C array of n floats into a new Go slice.
func cFloats(p *C.float, n uint64) []float32 {
	if p == nil || n == 0 {
		return nil
	}
	out := make([]float32, n)
	copy(out, unsafe.Slice((*float32)(unsafe.Pointer(p)), n))
	return out
}

func cInt32s(p *C.int32_t, n uint64) []int32 {
	if p == nil || n == 0 {
		return nil
	}
	out := make([]int32, n)
	copy(out, unsafe.Slice((*int32)(unsafe.Pointer(p)), n))
	return out
}

func boolInt(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}
