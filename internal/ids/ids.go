// Package ids makes the identifiers jeton stores: random enough to be
// unguessable, and ordered by time of creation, so the indexes they key
// grow at one end. Random (version 4) keys scatter every insert across
// the whole index; on SQLite each scattered page is written again to the
// WAL at every commit, which made commits the writer's largest cost.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// UUID returns a version-7 UUID: 48 bits of Unix milliseconds, then 74
// random bits. It is a valid RFC 9562 UUID wherever one is expected.
func UUID() string { return UUIDAt(time.Now()) }

// UUIDAt is UUID with the time given.
func UUIDAt(t time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[6:])
	ms := uint64(t.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[:6], ts[2:])
	return format(b, 7)
}

// Random returns a version-4 (random) UUID.
func Random() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return format(b, 4)
}

// format sets b's version and variant and spells it as a UUID.
func format(b [16]byte, version byte) string {
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// Prefixed returns prefix followed by 12 hex digits of Unix milliseconds
// and 16 random hex digits.
func Prefixed(prefix string) string {
	var b [14]byte
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(time.Now().UnixMilli()))
	copy(b[:6], ts[2:])
	_, _ = rand.Read(b[6:])
	return prefix + hex.EncodeToString(b[:])
}

// Short returns 18 hex digits, the length of Surfboard's ids: 32 bits of
// Unix seconds, then 40 random bits. Within one second two ids collide
// with probability n²/2^41 for n ids (1 in 200,000 at 3,000 a second);
// the primary key then refuses the second insert, so nothing is mixed up.
func Short() string {
	var b [9]byte
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().Unix()))
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}
