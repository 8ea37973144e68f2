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
	// Mode is standalone (one server, URL redis://host:port/db) or cluster
	// (Redis Cluster; URL redis://:password@seed1:6379?addr=seed2:6379&addr=...,
	// database 0 only).
	Mode string `json:"mode" jsonschema:"enum=standalone|cluster"`
	// Partitions of the order stream (a power of two, at most 256); api and
	// order-worker must agree. In cluster mode they spread the orders over
	// the masters: use at least two per master.
	Partitions int `json:"partitions" jsonschema:"minimum=1,maximum=256"`
}

// Modes of Config.Mode.
const (
	Standalone = "standalone"
	Cluster    = "cluster"
)

// DefaultConfig points at a local development Redis.
func DefaultConfig() Config {
	return Config{URL: "redis://127.0.0.1:6379/0", DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, PoolSize: 20, Mode: Standalone, Partitions: 1}
}

// Validate reports bad Redis settings with paths under prefix.
func (c Config) Validate(prefix string, add func(path, msg string)) {
	switch c.Mode {
	case Standalone:
		if _, err := redis.ParseURL(c.URL.Value()); err != nil {
			add(prefix+".url", "must be a Redis URL such as redis://127.0.0.1:6379/0")
		}
	case Cluster:
		if _, err := redis.ParseClusterURL(c.URL.Value()); err != nil {
			add(prefix+".url", "must be a Redis Cluster URL such as redis://:password@10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379")
		}
	default:
		add(prefix+".mode", "must be standalone or cluster")
	}
	if p := c.Partitions; p < 1 || p > 256 || p&(p-1) != 0 {
		add(prefix+".partitions", "must be a power of two from 1 to 256")
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

// Clustered reports whether the deployment is a Redis Cluster.
func (c Config) Clustered() bool { return c.Mode == Cluster }

// Open creates the client (a *redis.Client or, in cluster mode, a
// *redis.ClusterClient); it connects lazily.
func Open(c Config) (redis.UniversalClient, error) {
	loggerOnce.Do(func() { redis.SetLogger(slogLogger{}) })
	if c.Mode == Cluster {
		return openCluster(c)
	}
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

// openCluster: the pool size is per node; MOVED and ASK redirects (a
// failover, a slot migration) are followed up to MaxRedirects times, and a
// node that does not answer is retried once, then another node is asked
// (which redirects to the promoted master once the failover is done).
func openCluster(c Config) (redis.UniversalClient, error) {
	opts, err := redis.ParseClusterURL(c.URL.Value())
	if err != nil {
		return nil, fmt.Errorf("parse redis cluster url: %w", err)
	}
	opts.DialTimeout = c.DialTimeout
	opts.ReadTimeout = c.ReadTimeout
	opts.WriteTimeout = c.WriteTimeout
	opts.PoolSize = c.PoolSize
	opts.MaxRedirects = 8
	// go-redis re-reads the slot map on MOVED/ASK and, besides, only every
	// minute by default: a client that talked only to a master that died
	// would keep dialling it. Every 5 s bounds that after a failover.
	opts.ClusterStateReloadInterval = 5 * time.Second
	rdb := redis.NewClusterClient(opts)
	rdb.AddHook(newTracingHook(opts.Addrs[0], 0))
	return rdb, nil
}
