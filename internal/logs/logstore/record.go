package logstore

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// On-disk record framing (little endian):
//
//	u32 body length | u32 CRC-32C of body | body
//	body = i64 timestamp (ms) | i64 ingestion time (ms) | message bytes
//
// A segment file starts with the 8-byte magic "WLOGSEG1" and holds records
// back to back.
const (
	magic      = "WLOGSEG1"
	headerSize = int64(len(magic))
	frameSize  = 8  // length + CRC
	fixedBody  = 16 // timestamp + ingestion time
	// MaxMessageBytes bounds one message (CloudWatch allows 256 KiB
	// minus the 26 bytes of per-event overhead it counts).
	MaxMessageBytes = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn: the bytes at an offset are not a complete, intact record.
var errTorn = errors.New("logstore: torn or corrupt record")

// recordSize is the on-disk size of a record with a message of n bytes.
func recordSize(n int) int64 { return int64(frameSize + fixedBody + n) }

// appendRecord appends the framed record to buf.
func appendRecord(buf []byte, ts, ingest int64, msg string) []byte {
	n := fixedBody + len(msg)
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	buf = append(buf, 0, 0, 0, 0) // CRC, filled below
	buf = binary.LittleEndian.AppendUint64(buf, uint64(ts))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(ingest))
	buf = append(buf, msg...)
	crc := crc32.Checksum(buf[start+frameSize:], castagnoli)
	binary.LittleEndian.PutUint32(buf[start+4:], crc)
	return buf
}

// decodeRecord decodes the record at the start of b and returns it and its
// size, or errTorn when b does not start with a whole intact record.
func decodeRecord(b []byte) (ts, ingest int64, msg []byte, size int, err error) {
	if len(b) < frameSize+fixedBody {
		return 0, 0, nil, 0, errTorn
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < fixedBody || n > fixedBody+MaxMessageBytes || len(b) < frameSize+n {
		return 0, 0, nil, 0, errTorn
	}
	body := b[frameSize : frameSize+n]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, 0, nil, 0, errTorn
	}
	ts = int64(binary.LittleEndian.Uint64(body))
	ingest = int64(binary.LittleEndian.Uint64(body[8:]))
	return ts, ingest, body[fixedBody:], frameSize + n, nil
}
