package store

import (
	"path/filepath"
	"testing"
)

func TestPutGetListDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct{ N int }
	for i, k := range []string{"b", "a", "c"} {
		if err := db.Put("bk", k, rec{i}); err != nil {
			t.Fatal(err)
		}
	}
	var got rec
	if ok, err := db.Get("bk", "c", &got); !ok || err != nil || got.N != 2 {
		t.Fatalf("Get c = %v %v %v", got, ok, err)
	}
	if ok, err := db.Get("nobucket", "x", &got); ok || err != nil {
		t.Fatalf("Get missing = %v %v", ok, err)
	}
	var keys []string
	if err := db.List("bk", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || keys[0] != "a" || keys[2] != "c" {
		t.Fatalf("List order %v", keys)
	}
	if err := db.Delete("bk", "a"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen: everything acknowledged is still there.
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if ok, _ := db.Get("bk", "a", &got); ok {
		t.Fatal("deleted key came back")
	}
	if ok, _ := db.Get("bk", "b", &got); !ok || got.N != 0 {
		t.Fatal("key b lost across reopen")
	}
	if err := db.DropBucket("bk"); err != nil {
		t.Fatal(err)
	}
	if err := db.DropBucket("bk"); err != nil {
		t.Fatal("dropping a missing bucket must not fail:", err)
	}
}

func TestGetCorruptValue(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Put("b", "k", "a string"); err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := db.Get("b", "k", &n); err == nil {
		t.Fatal("want a decode error")
	}
}

func TestPutDelete(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, k := range []string{"1", "2"} {
		if err := db.Put("b", k, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutDelete("b", "3", "3", "1", "missing"); err != nil {
		t.Fatal(err)
	}
	var keys []string
	_ = db.List("b", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if len(keys) != 2 || keys[0] != "2" || keys[1] != "3" {
		t.Fatalf("keys %v", keys)
	}
}
