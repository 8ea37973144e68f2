package orderstream

import (
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

// MaxPartitions bounds Keyspace.Partitions: an order id carries its user's
// partition in one byte (see NewOrderID).
const MaxPartitions = 256

// Keyspace names the Redis keys of the order queue. With one partition and
// no tags (a standalone Redis, the default) the names are the historical
// ones: new_orders, new_orders:dead, order:pending:<id>... Otherwise the
// stream is split into Partitions streams, and every key of an order
// carries its partition's hash tag ({o20-113}), so that the intake script
// touches one Redis Cluster slot and a worker's MULTI on decision too. A
// user's orders all go to one partition (the user id picks it), so they
// stay in order; the order id carries the partition too, so a status
// lookup by id alone finds the pending record.
//
// Api and order-worker must use the same Keyspace; changing Partitions
// needs a drained queue (docs/redis-cluster.md).
type Keyspace struct {
	Partitions int  // a power of two, 1..MaxPartitions
	Tagged     bool // keys carry the partition's hash tag
}

// NewKeyspace is the keyspace of a Redis deployment: tagged in cluster
// mode or when the stream is partitioned.
func NewKeyspace(partitions int, cluster bool) Keyspace {
	return Keyspace{Partitions: partitions, Tagged: cluster || partitions > 1}
}

// Single is the keyspace of one standalone Redis with one stream.
var Single = Keyspace{Partitions: 1}

// ValidPartitions reports whether n is a power of two within 1..MaxPartitions.
func ValidPartitions(n int) bool { return n >= 1 && n <= MaxPartitions && n&(n-1) == 0 }

// userByte spreads user ids over 0..255 (splitmix64's finaliser).
func userByte(uid int64) byte {
	z := uint64(uid) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return byte(z ^ (z >> 31))
}

// NewOrderID is a random (version 4) UUID whose last byte names its
// user's partition for any partition count, so OfOrder(id) == OfUser(uid).
func NewOrderID(uid int64) uuid.UUID {
	id := uuid.New()
	id[15] = userByte(uid)
	return id
}

// OfUser is the partition of a user's orders.
func (k Keyspace) OfUser(uid int64) int { return int(userByte(uid)) % k.parts() }

// OfOrder is the partition of an order made by NewOrderID.
func (k Keyspace) OfOrder(id uuid.UUID) int { return int(id[15]) % k.parts() }

func (k Keyspace) parts() int { return max(k.Partitions, 1) }

// All lists the partitions 0..Partitions-1.
func (k Keyspace) All() []int {
	out := make([]int, k.parts())
	for i := range out {
		out[i] = i
	}
	return out
}

// Tag is partition p's hash tag with its braces, or "" untagged.
func (k Keyspace) Tag(p int) string {
	if !k.Tagged {
		return ""
	}
	return "{" + partitionTags[p*(MaxPartitions/k.parts())] + "}"
}

func (k Keyspace) name(base string, p int) string {
	if !k.Tagged {
		return base
	}
	return base + ":" + k.Tag(p)
}

// Stream is partition p's order stream.
func (k Keyspace) Stream(p int) string { return k.name(Stream, p) }

// DeadLetters is partition p's dead-letter stream.
func (k Keyspace) DeadLetters(p int) string { return k.name(DeadLetters, p) }

// Discarded is partition p's stream of dead letters an admin discarded
// (kept for the configured retention, never silently deleted).
func (k Keyspace) Discarded(p int) string { return k.name(Discarded, p) }

// PendingKey is the Redis hash holding an accepted order's fields until
// order-worker has decided it (api writes it with the stream entry).
func (k Keyspace) PendingKey(p int, id uuid.UUID) string {
	return k.name("order:pending", p) + ":" + id.String()
}

// UserPendingKey is the sorted set of a user's pending order ids.
func (k Keyspace) UserPendingKey(p int, uid int64) string {
	return k.UserKey("orders:pending:user", p, uid)
}

// UserKey is a per-user key in partition p: base, tag, user id.
func (k Keyspace) UserKey(base string, p int, uid int64) string {
	return k.name(base, p) + ":" + strconv.FormatInt(uid, 10)
}

// PartitionTags are the 256 hash tags partitions use: tag i hashes to a
// slot in [i*64, (i+1)*64), so with N partitions (tags 0, 256/N, 2*256/N...)
// the streams sit at evenly spaced slots, and on a cluster whose masters
// own equal contiguous slot ranges they spread evenly over the masters.
// The Helm charts carry the same list (for KEDA's per-stream triggers).
func PartitionTags() []string { return append([]string(nil), partitionTags[:]...) }

var partitionTags = func() (tags [MaxPartitions]string) {
	const width = ClusterSlots / MaxPartitions
	for i := range tags {
		for n := 0; ; n++ {
			t := fmt.Sprintf("o%02x-%d", i, n)
			if s := Slot(t); s >= i*width && s < (i+1)*width {
				tags[i] = t
				break
			}
		}
	}
	return tags
}()

// ClusterSlots is the number of Redis Cluster hash slots.
const ClusterSlots = 16384

// Slot is the Redis Cluster hash slot of key (its hash tag's, when it has one).
func Slot(key string) int {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j > i+1 {
						key = key[i+1 : j]
					}
					return int(crc16(key)) % ClusterSlots
				}
			}
			break
		}
	}
	return int(crc16(key)) % ClusterSlots
}

// crc16 is CRC-16/XMODEM, the checksum Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
