package idbstore

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// A record's IndexedDB key is the length of its bucket's name, the name
// and the key; its value, a Uint8Array, repeats the key so that one getAll
// returns both: the key's length as a uvarint, the key, then the value.
// Reading a record then costs two calls into JavaScript, not eight.
//
// This file has no build constraint, so that its tests and fuzzing run
// natively as well.

// errNotRecord is returned for a record this package did not write.
var errNotRecord = errors.New("idbstore: a record this package did not write")

// appendKey appends the IndexedDB key of key in bucket to dst.
func appendKey(dst, bucket, key []byte) []byte {
	dst = append(dst, byte(len(bucket)))
	dst = append(dst, bucket...)
	return append(dst, key...)
}

// appendRecord appends the stored form of value, under the IndexedDB key
// k, to dst.
func appendRecord(dst []byte, k string, value []byte) []byte {
	key := k[1+int(k[0]):]
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	return append(dst, value...)
}

// parseRecord splits a stored record into its key and value, which share
// rec's memory.
func parseRecord(rec []byte) (key, value []byte, err error) {
	n, l := binary.Uvarint(rec)
	if l <= 0 || n > uint64(len(rec)-l) {
		return nil, nil, errNotRecord
	}
	key = rec[l : l+int(n) : l+int(n)]
	return key, rec[l+int(n):], nil
}

// prefixEnd returns the least key greater than every key that starts with
// prefix, or nil if there is none (prefix is empty or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
