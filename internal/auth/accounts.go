package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"unicode"
)

// Limits that keep every account usable over IPMI as well as Redfish.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 20 // IPMI 2.0 passwords are at most 20 bytes
	MaxUserNameLength = 16 // IPMI user names are at most 16 bytes
	// MaxAccounts counts usable accounts; IDs run 2..MaxAccounts+1 because
	// IPMI reserves user ID 1 for the null user.
	MaxAccounts = 15
	firstID     = 2
)

// Errors returned by Accounts.
var (
	ErrBadCredentials = errors.New("invalid user name or password")
	ErrExists         = errors.New("user name already exists")
	ErrNotFound       = errors.New("no such account")
	ErrFull           = errors.New("no free account slots")
	ErrInvalid        = errors.New("invalid account data")
	ErrLastAdmin      = errors.New("the last enabled Administrator cannot be removed, disabled or demoted")
	// ErrWrongKey: Open was given another key than the one that sealed the
	// stored passwords.
	ErrWrongKey = errors.New("stored passwords do not open with this key (wrong or replaced installation key)")
)

// Store persists accounts (implemented by internal/store).
type Store interface {
	Get(bucket, key string, v any) (bool, error)
	Put(bucket, key string, v any) error
	Delete(bucket, key string) error
	List(bucket string, fn func(key string, raw []byte) error) error
}

const bucket = "accounts"

// Account is a user account as callers see it (never with its password).
type Account struct {
	ID       int
	UserName string
	Role     Role
	Enabled  bool
	Locked   bool
}

// record is the persisted form; the password is sealed with AES-GCM under
// the installation key because IPMI's RAKP needs the clear password.
type record struct {
	ID       int    `json:"id"`
	UserName string `json:"user"`
	Role     Role   `json:"role"`
	Enabled  bool   `json:"enabled"`
	Locked   bool   `json:"locked"`
	Sealed   []byte `json:"sealed"`
}

type entry struct {
	Account
	password []byte
}

// Accounts is the account database. Safe for concurrent use.
type Accounts struct {
	store Store
	aead  cipher.AEAD

	mu       sync.RWMutex
	byID     map[int]*entry
	byName   map[string]*entry
	dummy    []byte
	watchers map[*watcher]struct{} // see OnChange
}

// Open loads the accounts from st; key (32 bytes) seals passwords.
func Open(st Store, key []byte) (*Accounts, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("account key must be 32 bytes, got %d", len(key))
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	a := &Accounts{store: st, aead: aead, byID: map[int]*entry{}, byName: map[string]*entry{}, dummy: make([]byte, MaxPasswordLength)}
	err = st.List(bucket, func(_ string, raw []byte) error {
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		pw, err := a.open(r.ID, r.Sealed)
		if err != nil {
			return fmt.Errorf("account %s: %w", r.UserName, err)
		}
		e := &entry{Account: Account{ID: r.ID, UserName: r.UserName, Role: r.Role, Enabled: r.Enabled, Locked: r.Locked}, password: pw}
		a.byID[e.ID], a.byName[e.UserName] = e, e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	return a, nil
}

// sealAD binds a sealed password to its account, so sealed values cannot
// be swapped between records.
func sealAD(id int) []byte { return []byte("bmcd-account:" + strconv.Itoa(id)) }

func (a *Accounts) seal(id int, pw []byte) ([]byte, error) {
	nonce := make([]byte, a.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.aead.Seal(nonce, nonce, pw, sealAD(id)), nil
}

func (a *Accounts) open(id int, sealed []byte) ([]byte, error) {
	n := a.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed password too short")
	}
	pw, err := a.aead.Open(nil, sealed[:n], sealed[n:], sealAD(id))
	if err != nil {
		return nil, ErrWrongKey
	}
	return pw, nil
}

// Authenticate checks a user name and password in constant time with
// respect to the password, and equally for unknown names.
func (a *Accounts) Authenticate(user, password string) (Account, error) {
	a.mu.RLock()
	e := a.byName[user]
	want := a.dummy
	var acc Account // copied under the lock: Update rewrites *e
	if e != nil {
		want, acc = e.password, e.Account
	}
	// Compare digests, so neither the length nor the content of the stored
	// password shows in the timing.
	wd, gd := sha256.Sum256(want), sha256.Sum256([]byte(password))
	ok := subtle.ConstantTimeCompare(wd[:], gd[:]) == 1
	a.mu.RUnlock()
	if e == nil || !ok || !acc.Enabled || acc.Locked {
		return Account{}, ErrBadCredentials
	}
	return acc, nil
}

// Secret returns an enabled account and its clear password, for protocols
// whose handshake needs it (IPMI RAKP). ok is false for unknown, disabled
// or locked accounts.
func (a *Accounts) Secret(user string) (Account, []byte, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	e := a.byName[user]
	if e == nil || !e.Enabled || e.Locked {
		return Account{}, nil, false
	}
	return e.Account, append([]byte(nil), e.password...), true
}

// List returns every account ordered by ID.
func (a *Accounts) List() []Account {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]Account, 0, len(a.byID))
	for _, e := range a.byID {
		out = append(out, e.Account)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns the account with id.
func (a *Accounts) Get(id int) (Account, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	e, ok := a.byID[id]
	if !ok {
		return Account{}, false
	}
	return e.Account, true
}

// ByName returns the account named user.
func (a *Accounts) ByName(user string) (Account, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	e, ok := a.byName[user]
	if !ok {
		return Account{}, false
	}
	return e.Account, true
}

// Count is the number of accounts.
func (a *Accounts) Count() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.byID)
}

// CheckUserName validates a user name.
func CheckUserName(s string) error {
	if s == "" || len(s) > MaxUserNameLength {
		return fmt.Errorf("user name must be 1 to %d bytes: %w", MaxUserNameLength, ErrInvalid)
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ':' || unicode.IsSpace(r) {
			return fmt.Errorf("user name must be printable ASCII without spaces or ':': %w", ErrInvalid)
		}
	}
	return nil
}

// CheckPassword validates a password.
func CheckPassword(s string) error {
	if len(s) < MinPasswordLength || len(s) > MaxPasswordLength {
		return fmt.Errorf("password must be %d to %d bytes: %w", MinPasswordLength, MaxPasswordLength, ErrInvalid)
	}
	return nil
}

// Create adds an account in the lowest free slot.
func (a *Accounts) Create(user, password string, role Role, enabled bool) (Account, error) {
	return a.create(0, user, password, role, enabled)
}

// CreateWithID adds an account with the given ID (2..MaxAccounts+1, as
// IPMI numbers users): ErrInvalid outside that range, ErrExists when the
// slot or the name is taken.
func (a *Accounts) CreateWithID(id int, user, password string, role Role, enabled bool) (Account, error) {
	if id < firstID || id >= firstID+MaxAccounts {
		return Account{}, fmt.Errorf("account ID %d: %w", id, ErrInvalid)
	}
	return a.create(id, user, password, role, enabled)
}

// create adds an account with id, or in the lowest free slot if id is 0.
func (a *Accounts) create(want int, user, password string, role Role, enabled bool) (Account, error) {
	if err := CheckUserName(user); err != nil {
		return Account{}, err
	}
	if err := CheckPassword(password); err != nil {
		return Account{}, err
	}
	if !role.Valid() {
		return Account{}, fmt.Errorf("role %q: %w", role, ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.byName[user]; ok {
		return Account{}, ErrExists
	}
	id := want
	if id != 0 {
		if _, used := a.byID[id]; used {
			return Account{}, fmt.Errorf("account ID %d: %w", id, ErrExists)
		}
	} else {
		for i := firstID; i < firstID+MaxAccounts; i++ {
			if _, used := a.byID[i]; !used {
				id = i
				break
			}
		}
	}
	if id == 0 {
		return Account{}, ErrFull
	}
	e := &entry{Account: Account{ID: id, UserName: user, Role: role, Enabled: enabled}, password: []byte(password)}
	if err := a.saveLocked(e); err != nil {
		return Account{}, err
	}
	a.byID[id], a.byName[user] = e, e
	a.notifyLocked(Change{Kind: Created, Account: e.Account})
	return e.Account, nil
}

// Update changes the fields that are non-nil.
type Update struct {
	UserName *string
	Password *string
	Role     *Role
	Enabled  *bool
	Locked   *bool
}

// Update applies u to the account with id. Watchers hear of it (Changed)
// only if it changed the account or set the password.
func (a *Accounts) Update(id int, u Update) (Account, error) {
	if u.UserName != nil {
		if err := CheckUserName(*u.UserName); err != nil {
			return Account{}, err
		}
	}
	if u.Password != nil {
		if err := CheckPassword(*u.Password); err != nil {
			return Account{}, err
		}
	}
	if u.Role != nil && !u.Role.Valid() {
		return Account{}, fmt.Errorf("role %q: %w", *u.Role, ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.byID[id]
	if !ok {
		return Account{}, ErrNotFound
	}
	next := *e
	if u.UserName != nil && *u.UserName != e.UserName {
		if _, taken := a.byName[*u.UserName]; taken {
			return Account{}, ErrExists
		}
		next.UserName = *u.UserName
	}
	if u.Password != nil {
		next.password = []byte(*u.Password)
	}
	if u.Role != nil {
		next.Role = *u.Role
	}
	if u.Enabled != nil {
		next.Enabled = *u.Enabled
	}
	if u.Locked != nil {
		next.Locked = *u.Locked
	}
	if a.isAdmin(e) && !a.isAdmin(&next) && a.adminsLocked() == 1 {
		return Account{}, ErrLastAdmin
	}
	if err := a.saveLocked(&next); err != nil {
		return Account{}, err
	}
	changed := next.Account != e.Account || u.Password != nil
	delete(a.byName, e.UserName)
	*e = next
	a.byName[e.UserName] = e
	if changed { // an update that sets what is set is no change to report
		a.notifyLocked(Change{Kind: Changed, Account: e.Account, PasswordChanged: u.Password != nil})
	}
	return e.Account, nil
}

// Delete removes the account with id.
func (a *Accounts) Delete(id int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.byID[id]
	if !ok {
		return ErrNotFound
	}
	if a.isAdmin(e) && a.adminsLocked() == 1 {
		return ErrLastAdmin
	}
	if err := a.store.Delete(bucket, strconv.Itoa(id)); err != nil {
		return err
	}
	delete(a.byID, id)
	delete(a.byName, e.UserName)
	a.notifyLocked(Change{Kind: Removed, Account: e.Account})
	return nil
}

func (a *Accounts) isAdmin(e *entry) bool {
	return e.Role == RoleAdministrator && e.Enabled && !e.Locked
}

func (a *Accounts) adminsLocked() int {
	n := 0
	for _, e := range a.byID {
		if a.isAdmin(e) {
			n++
		}
	}
	return n
}

func (a *Accounts) saveLocked(e *entry) error {
	sealed, err := a.seal(e.ID, e.password)
	if err != nil {
		return fmt.Errorf("seal password: %w", err)
	}
	r := record{ID: e.ID, UserName: e.UserName, Role: e.Role, Enabled: e.Enabled, Locked: e.Locked, Sealed: sealed}
	if err := a.store.Put(bucket, strconv.Itoa(e.ID), &r); err != nil {
		return fmt.Errorf("save account %s: %w", e.UserName, err)
	}
	return nil
}
