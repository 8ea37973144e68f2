// Package redisconn opens the go-redis client every service uses, from a
// redis:// URL in the configuration document, with timeouts that make an
// unreachable Redis fail fast instead of hanging a request.
package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/platform/config"
)

// Config is the Redis part of a service's configuration document.
type Config struct {
	// URL such as redis://:password@127.0.0.1:6379/0; a secret because it
	// may carry the password.
	URL          config.Secret `json:"url"`
	DialTimeout  time.Duration `json:"dialTimeout"`
	ReadTimeout  time.Duration `json:"readTimeout"`
	WriteTimeout time.Duration `json:"writeTimeout"`
	PoolSize     int           `json:"poolSize" jsonschema:"minimum=1"`
}

// DefaultConfig points at a local development Redis.
func DefaultConfig() Config {
	return Config{URL: "redis://127.0.0.1:6379/0", DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, PoolSize: 20}
}

// Validate reports bad Redis settings with paths under prefix.
func (c Config) Validate(prefix string, add func(path, msg string)) {
	if _, err := redis.ParseURL(c.URL.Value()); err != nil {
		add(prefix+".url", "must be a Redis URL such as redis://127.0.0.1:6379/0")
	}
	if c.DialTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 {
		add(prefix, "dialTimeout, readTimeout and writeTimeout must be positive durations")
	}
	if c.PoolSize < 1 {
		add(prefix+".poolSize", "must be at least 1")
	}
}

var loggerOnce sync.Once

// slogLogger sends go-redis's internal messages (dial failures while Redis
// is down, for instance) to the structured log instead of raw stderr.
type slogLogger struct{}

func (slogLogger) Printf(ctx context.Context, format string, v ...any) {
	detail := fmt.Sprintf(format, v...)
	slog.Default().WarnContext(ctx, "redis client", "detail", detail)
}

// Open creates the client; it connects lazily.
func Open(c Config) (*redis.Client, error) {
	loggerOnce.Do(func() { redis.SetLogger(slogLogger{}) })
	opts, err := redis.ParseURL(c.URL.Value())
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	opts.DialTimeout = c.DialTimeout
	opts.ReadTimeout = c.ReadTimeout
	opts.WriteTimeout = c.WriteTimeout
	opts.PoolSize = c.PoolSize
	opts.MaxRetries = 1
	rdb := redis.NewClient(opts)
	rdb.AddHook(newTracingHook(opts.Addr, opts.DB))
	return rdb, nil
}
