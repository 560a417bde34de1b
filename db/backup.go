package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// ErrBackupExists refuses a backup whose destination file already exists
// and may not be replaced.
var ErrBackupExists = errors.New("the backup file already exists")

// Backup writes a consistent copy of the SQLite database at path to dest,
// while servers keep using it: VACUUM INTO, on a connection that only
// reads, copies one snapshot (WAL lets writers go on meanwhile) into a compact
// new file. The copy is written beside dest under a temporary name,
// checked (PRAGMA quick_check), synced, and only then given dest's name,
// so dest is never a half-written file. An existing dest is
// ErrBackupExists unless replace is set. The database itself is neither
// migrated nor created: a path with no database is an error.
func Backup(ctx context.Context, path, dest string, replace bool) (err error) {
	if st, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database at %s: %w", path, err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a database file", path)
	}
	if !replace {
		if _, err := os.Lstat(dest); err == nil {
			return fmt.Errorf("%s: %w", dest, ErrBackupExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	dir := filepath.Dir(dest)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".*.partial")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	tmp.Close() // VACUUM INTO fills an empty file
	defer func() {
		if err != nil {
			os.Remove(tmpPath)
		}
	}()

	// A connection that only reads, in whatever journal mode the file is
	// (a backup of a backup is in rollback mode), waiting out a lock as
	// the server does. Not mode=ro, nor query_only (which refuses VACUUM
	// INTO): a read-only connection to a WAL database no server has open
	// creates -wal and -shm files it cannot remove, owned by whoever ran
	// the backup, which a server running as another user then cannot open.
	// Writable, the last connection to close removes them.
	busy := pragmas[0] // busy_timeout
	src, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=rw&_pragma="+url.QueryEscape(busy.name+"("+busy.value+")"))
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return fmt.Errorf("copy %s: %w", path, err)
	}
	if err := checkCopy(ctx, tmpPath); err != nil {
		return err
	}
	if err := syncFile(tmpPath); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmpPath, dest)
	} else if err = os.Link(tmpPath, dest); err == nil {
		// A link, unlike a rename, never replaces a file that appeared
		// meanwhile.
		err = os.Remove(tmpPath)
	} else if errors.Is(err, fs.ErrExist) {
		err = fmt.Errorf("%s: %w", dest, ErrBackupExists)
	}
	if err != nil {
		return err
	}
	return syncFile(dir) // the new name survives a crash too
}

// checkCopy runs SQLite's quick_check on the copy at path, read-only.
func checkCopy(ctx context.Context, path string) error {
	cp, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer cp.Close()
	var result string
	if err := cp.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&result); err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("the copy failed its check: %s", result)
	}
	return nil
}

// syncFile flushes a file or directory to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
