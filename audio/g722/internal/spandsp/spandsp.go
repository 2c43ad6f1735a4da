//go:build linux && cgo

// Package spandsp loads the system's libspandsp at run time so tests can
// compare this module's G.722 bitstream with the implementation baresip
// and many PBXes use. It is loaded with dlopen, not linked, so builds and
// tests still work on machines without the library (tests then skip).
package spandsp

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef void *(*init_fn)(void *, int, int);
typedef int (*code_enc_fn)(void *, uint8_t *, const int16_t *, int);
typedef int (*code_dec_fn)(void *, int16_t *, const uint8_t *, int);
typedef int (*free_fn)(void *);

static void *lib;
static init_fn enc_init, dec_init;
static code_enc_fn enc;
static code_dec_fn dec;
static free_fn enc_free, dec_free;

static int sp_load(void) {
	if (lib) return 0;
	lib = dlopen("libspandsp.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!lib) return -1;
	enc_init = (init_fn)dlsym(lib, "g722_encode_init");
	dec_init = (init_fn)dlsym(lib, "g722_decode_init");
	enc = (code_enc_fn)dlsym(lib, "g722_encode");
	dec = (code_dec_fn)dlsym(lib, "g722_decode");
	enc_free = (free_fn)dlsym(lib, "g722_encode_free");
	dec_free = (free_fn)dlsym(lib, "g722_decode_free");
	if (!enc_init || !dec_init || !enc || !dec || !enc_free || !dec_free) return -2;
	return 0;
}
static void *sp_enc_new(void) { return enc_init(NULL, 64000, 0); }
static void *sp_dec_new(void) { return dec_init(NULL, 64000, 0); }
static int sp_encode(void *s, uint8_t *out, const int16_t *in, int n) { return enc(s, out, in, n); }
static int sp_decode(void *s, int16_t *out, const uint8_t *in, int n) { return dec(s, out, in, n); }
static void sp_enc_free(void *s) { enc_free(s); }
static void sp_dec_free(void *s) { dec_free(s); }
*/
import "C"

import (
	"errors"
	"sync"
	"unsafe"
)

var loadOnce = sync.OnceValue(func() error {
	if C.sp_load() != 0 {
		return errors.New("libspandsp.so.2 not available (install libspandsp2)")
	}
	return nil
})

// Available reports whether libspandsp could be loaded.
func Available() error { return loadOnce() }

// Encode encodes 16 kHz PCM with a fresh spandsp G.722 64 kbit/s encoder.
func Encode(pcm []int16) []byte {
	s := C.sp_enc_new()
	defer C.sp_enc_free(s)
	out := make([]byte, len(pcm)/2+1)
	if len(pcm) == 0 {
		return nil
	}
	n := C.sp_encode(s, (*C.uint8_t)(unsafe.Pointer(&out[0])), (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	return out[:n]
}

// Decode decodes G.722 octets with a fresh spandsp decoder.
func Decode(data []byte) []int16 {
	s := C.sp_dec_new()
	defer C.sp_dec_free(s)
	if len(data) == 0 {
		return nil
	}
	out := make([]int16, 2*len(data))
	n := C.sp_decode(s, (*C.int16_t)(unsafe.Pointer(&out[0])), (*C.uint8_t)(unsafe.Pointer(&data[0])), C.int(len(data)))
	return out[:n]
}
