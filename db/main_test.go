package db_test

import (
	"os"
	"testing"

	"guildhall/db/dbtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dbtest.Cleanup()
	os.Exit(code)
}
