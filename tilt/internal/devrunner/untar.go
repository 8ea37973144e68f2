package devrunner

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Untar extracts the archive r into dir, the way Tilt's live update needs
// it (`tar -C / -x -f -`): directories, regular files, symlinks. A regular
// file is written next to its target and renamed over it, so a running
// executable can be replaced (writing into it would fail with "text file
// busy") and a watcher never sees half a file. Ownership is not restored
// (the container runs as a non-root user); entries that would leave dir are
// refused.
func Untar(r io.Reader, dir string) error {
	root, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: reading archive: %w", err)
		}
		target := filepath.Join(root, filepath.FromSlash(hdr.Name))
		if target != root && !strings.HasPrefix(target, root+string(os.PathSeparator)) && root != "/" {
			return fmt.Errorf("tar: %s: path leaves %s", hdr.Name, root)
		}
		mode := os.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("tar: %w", err)
			}
			// Best effort: an existing mount point may belong to root.
			_ = os.Chmod(target, mode|0o700)
		case tar.TypeReg:
			if err := writeFile(target, tr, mode); err != nil {
				return fmt.Errorf("tar: %w", err)
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("tar: %w", err)
			}
			if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("tar: %w", err)
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return fmt.Errorf("tar: %w", err)
			}
		default:
			return fmt.Errorf("tar: %s: unsupported entry type %q", hdr.Name, hdr.Typeflag)
		}
	}
}

func writeFile(target string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// RemoveAll is the `rm -rf PATH...` Tilt runs for synced files that were
// deleted locally.
func RemoveAll(paths []string) error {
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("rm: %w", err)
		}
	}
	return nil
}
