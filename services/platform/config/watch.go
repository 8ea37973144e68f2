package config

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch reloads the document at path whenever the file (or, for Kubernetes
// ConfigMap volumes, the symlink it resolves through) changes, and hands each
// valid new document to apply. An invalid edit is logged and ignored: the
// service keeps running on the last good configuration. Watch returns when
// ctx ends. Which fields apply may safely change at run time is the
// service's decision; everything else needs a restart.
func (l Loader[S]) Watch(ctx context.Context, path string, log *slog.Logger, apply func(*Document[S])) error {
	if path == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	// Watch the directory: editors and ConfigMap updates replace the file.
	if err := w.Add(filepath.Dir(path)); err != nil {
		return err
	}
	last := fingerprint(path)
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			log.Warn("config watch error", "path", path, "err", err)
		case <-w.Events:
			debounce = time.After(100 * time.Millisecond)
		case <-debounce:
			now := fingerprint(path)
			if now == last {
				continue
			}
			last = now
			doc, err := l.Load(path)
			if err != nil {
				log.Error("config reload rejected; keeping the previous configuration", "path", path, "err", err)
				continue
			}
			log.Info("config reloaded", "path", path)
			apply(doc)
		}
	}
}

// fingerprint identifies the file's current content cheaply enough to run on
// every event.
func fingerprint(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "missing"
	}
	return string(b)
}
