//go:build !linux || !cgo

package spandsp

import "errors"

// Available reports whether libspandsp could be loaded; never on this platform.
func Available() error { return errors.New("libspandsp is only loaded on linux with cgo") }

// Encode is unavailable on this platform.
func Encode([]int16) []byte { return nil }

// Decode is unavailable on this platform.
func Decode([]byte) []int16 { return nil }
