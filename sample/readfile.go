package sample

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file holds the reads that run at every tick: the small files of
// the proc and cgroup file systems and the entries of /proc, read with
// system calls and into reused buffers.

// readFile reads the whole file at path into buf, growing it as needed, and
// returns the filled part. It uses raw system calls because the samplers
// read hundreds of small proc files per tick, where os.ReadFile's Stat and
// poller registration would cost more than the read itself.
func readFile(path string, buf []byte) ([]byte, error) {
	return readFileAt(unix.AT_FDCWD, "", path, buf)
}

// readFileAt is readFile of name relative to the directory dirfd, which
// errors call dir/name. A read that does not fill the buffer ends the
// file, as it does for regular files and for the kernel's proc and cgroup
// files, which saves the read that would return 0.
func readFileAt(dirfd int, dir, name string, buf []byte) ([]byte, error) {
	path := func() string { return filepath.Join(dir, name) }
	fd, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return buf[:0], &fs.PathError{Op: "open", Path: path(), Err: err}
	}
	defer syscall.Close(fd)
	if cap(buf) == 0 {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		space := cap(buf) - len(buf)
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf, &fs.PathError{Op: "read", Path: path(), Err: err}
		}
		buf = buf[:len(buf)+n]
		if n == 0 || n < space {
			return buf, nil
		}
	}
}

// readDirPIDs calls fn with every numeric entry of the directory open as
// fd (the PIDs of /proc), without allocating a string per entry.
func readDirPIDs(fd int, path string, buf []byte, fn func(pid int32)) error {
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return nil
		}
		parseDirents(buf[:n], fn)
	}
}

// parseDirents walks linux_dirent64 records: ino (8), off (8), reclen (2),
// type (1), NUL-terminated name.
func parseDirents(b []byte, fn func(pid int32)) {
	for len(b) >= 19 {
		reclen := int(b[16]) | int(b[17])<<8
		if reclen < 19 || reclen > len(b) {
			return
		}
		name := b[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if n, ok := atou(name); ok && n > 0 && n < 1<<31 {
			fn(int32(n))
		}
		b = b[reclen:]
	}
}

// exists reports whether path exists; a path that may not be looked at is
// taken to exist (reading it will say why it cannot be).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
