package sqlite

import (
	"database/sql"
	"testing"
	_ "modernc.org/sqlite"
)

func TestExp(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+t.TempDir()+"/x.db?_txlock=immediate&_pragma=journal_mode(WAL)")
	if err != nil { t.Fatal(err) }
	var v string
	db.QueryRow("select sqlite_version()").Scan(&v)
	t.Log(v)
	var ty string
	err = db.QueryRow("select typeof(?)", []byte{}).Scan(&ty)
	t.Log(ty, err)
	err = db.QueryRow("select typeof(?)", []byte("")).Scan(&ty)
	t.Log(ty, err)
	err = db.QueryRow("select typeof(?)", "").Scan(&ty)
	t.Log(ty, err)
	err = db.QueryRow("select typeof(?)", string([]byte{0xff, 0})).Scan(&ty)
	t.Log(ty, err)
	var b []byte
	err = db.QueryRow("select ?", string([]byte{0xff, 0, 'a'})).Scan(&b)
	t.Logf("%q %v", b, err)
}
