// Package audit is the BMC's own log, kept for bmcd as a whole: logins over
// Redfish and IPMI (successful and failed), account changes and
// configuration changes. Entries are messages of DMTF registries
// (AccountSecurity, ResourceEvent, ManagerEvent, LogService, DSP8011), so
// Redfish serves them as LogEntry resources of EntryType Event with
// MessageId and MessageArgs. The log keeps the newest MaxEntries entries;
// each is durable in the store before Record returns.
package audit

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxEntries is how many entries the log keeps; the oldest go first.
const MaxEntries = 1024

const bucket = "audit"

// Store persists entries. internal/store implements it over bbolt.
type Store interface {
	Put(bucket, key string, v any) error
	Delete(bucket, key string) error
	List(bucket string, fn func(key string, raw []byte) error) error
	DropBucket(bucket string) error
}

// batchStore writes an entry and drops trimmed ones in one transaction.
type batchStore interface {
	PutDelete(bucket, key string, v any, del ...string) error
}

// Message is a registry message with its arguments.
type Message struct {
	// ID is the MessageId: RegistryPrefix.Major.Minor.Key, e.g.
	// "AccountSecurity.1.0.SuccessfulLogin".
	ID   string
	Args []string
}

// Actor is who caused an entry: the account and where the request came
// from, with scheme ("https://192.0.2.7", "ipmi://192.0.2.7"). Either may
// be empty.
type Actor struct {
	User   string
	Origin string
}

// Entry is one line of the log.
type Entry struct {
	ID        uint64    `json:"id"`
	Created   time.Time `json:"created"`
	MessageID string    `json:"message_id"`
	Args      []string  `json:"args"`
	User      string    `json:"user,omitempty"`
	Origin    string    `json:"origin,omitempty"`
}

// Message is the entry's text: the registry's message with its arguments.
func (e Entry) Message() string { return text(e.MessageID, e.Args) }

// Severity is the registry's severity of the entry's message: OK,
// Warning or Critical.
func (e Entry) Severity() string {
	if m, ok := lookup(e.MessageID); ok {
		return m.MessageSeverity
	}
	return "OK"
}

// Log is the audit log. Its methods are safe for concurrent use; a nil
// *Log records nothing and is empty.
type Log struct {
	store Store
	log   *slog.Logger

	mu      sync.Mutex
	entries []Entry
	last    uint64
	now     func() time.Time
}

// Open loads the log from st.
func Open(st Store, log *slog.Logger) (*Log, error) {
	if log == nil {
		log = slog.Default()
	}
	l := &Log{store: st, log: log, now: time.Now}
	err := st.List(bucket, func(_ string, raw []byte) error {
		var e Entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		l.entries = append(l.entries, e)
		l.last = max(l.last, e.ID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load audit log: %w", err)
	}
	sort.Slice(l.entries, func(i, j int) bool { return l.entries[i].ID < l.entries[j].ID })
	return l, nil
}

// Record appends m, caused by a, dropping the oldest entry beyond
// MaxEntries. A store failure is logged; the entry is kept in memory.
func (l *Log) Record(m Message, a Actor) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last++
	e := Entry{ID: l.last, Created: l.now().UTC().Truncate(time.Second), MessageID: m.ID, Args: m.Args,
		User: a.User, Origin: a.Origin}
	if e.Args == nil {
		e.Args = []string{}
	}
	l.entries = append(l.entries, e)
	var drop []string
	if over := len(l.entries) - MaxEntries; over > 0 {
		for _, old := range l.entries[:over] {
			drop = append(drop, key(old.ID))
		}
		l.entries = append([]Entry(nil), l.entries[over:]...)
	}
	var err error
	if bs, ok := l.store.(batchStore); ok {
		err = bs.PutDelete(bucket, key(e.ID), &e, drop...)
	} else {
		err = l.store.Put(bucket, key(e.ID), &e)
		for _, k := range drop {
			_ = l.store.Delete(bucket, k)
		}
	}
	if err != nil {
		l.log.Error("persist audit log entry", "err", err)
	}
	l.log.Info("audit", "message_id", e.MessageID, "message", e.Message(), "user", e.User, "origin", e.Origin)
}

// Entries returns a copy of the log, oldest first.
func (l *Log) Entries() []Entry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// Clear empties the log and records, as its first entry, who cleared it.
func (l *Log) Clear(a Actor) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if err := l.store.DropBucket(bucket); err != nil {
		l.mu.Unlock()
		return fmt.Errorf("clear audit log: %w", err)
	}
	l.entries = nil
	l.mu.Unlock()
	l.Record(LogCleared(Name), a)
	return nil
}

// Name is the log's name in messages about it.
const Name = "Audit Log"

func key(id uint64) string { return fmt.Sprintf("%020d", id) }

// text fills the registry message id with args, or returns a plain
// rendering if the registry does not know it.
func text(id string, args []string) string {
	m, ok := lookup(id)
	if !ok {
		return id + " " + strings.Join(args, ", ")
	}
	return fill(m.Message, args)
}

// fill substitutes %1..%n in one pass, so an argument that itself holds
// "%1" (a user name may) is not expanded again.
func fill(msg string, args []string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if msg[i] == '%' {
			j := i + 1
			for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
				j++
			}
			if n, err := strconv.Atoi(msg[i+1 : j]); err == nil && n >= 1 && n <= len(args) {
				b.WriteString(args[n-1])
				i = j - 1
				continue
			}
		}
		b.WriteByte(msg[i])
	}
	return b.String()
}
