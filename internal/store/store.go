// Package store is bmcd's persistent state: a bbolt database under the state
// directory holding JSON values in named buckets. Every write is a committed,
// fsynced transaction, so a value whose Put returned survives kill -9.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DB is an open state database.
type DB struct {
	bolt *bolt.DB
}

// Open opens (creating if needed) the database at path. It fails fast if
// another process holds it.
func Open(path string) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return &DB{bolt: b}, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.bolt.Close() }

// Get decodes the value at bucket/key into v; ok is false if absent.
func (db *DB) Get(bucket, key string, v any) (ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		raw := b.Get([]byte(key))
		if raw == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(raw, v)
	})
	if err != nil {
		return false, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return ok, nil
}

// Put stores v at bucket/key, durably.
func (db *DB) Put(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), raw)
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// PutDelete stores v at bucket/key and deletes the keys del, in one
// durable transaction.
func (db *DB) PutDelete(bucket, key string, v any, del ...string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		for _, k := range del {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return b.Put([]byte(key), raw)
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete removes bucket/key; absent keys are not an error.
func (db *DB) Delete(bucket, key string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// List calls fn for every key in bucket in byte order. raw is only valid
// during the call.
func (db *DB) List(bucket string, fn func(key string, raw []byte) error) error {
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", bucket, err)
	}
	return nil
}

// DropBucket deletes a bucket and everything in it.
func (db *DB) DropBucket(bucket string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		err := tx.DeleteBucket([]byte(bucket))
		if errors.Is(err, bolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("drop %s: %w", bucket, err)
	}
	return nil
}
