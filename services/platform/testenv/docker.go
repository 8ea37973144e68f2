package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/ory/dockertest/v3"
	"github.com/redis/go-redis/v9"
)

var (
	dockerOnce sync.Once
	dockerPool *dockertest.Pool
)

// dockerAvailable reports whether a Docker engine answers. Only the client is
// installed on many machines, so a ping decides, not the presence of `docker`.
func dockerAvailable() bool {
	dockerOnce.Do(func() {
		if os.Getenv("DOCKER_HOST") == "" {
			if _, err := os.Stat("/var/run/docker.sock"); err != nil {
				return
			}
		}
		p, err := dockertest.NewPool("")
		if err != nil {
			return
		}
		if err := p.Client.Ping(); err != nil {
			return
		}
		p.MaxWait = time.Minute
		dockerPool = p
	})
	return dockerPool != nil
}

func dockerPostgres() (string, error) {
	res, err := dockerPool.RunWithOptions(&dockertest.RunOptions{
		Repository: "postgres", Tag: "15-alpine",
		Env: []string{"POSTGRES_HOST_AUTH_METHOD=trust"},
		Cmd: []string{"postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=300"},
	})
	if err != nil {
		return "", fmt.Errorf("docker run postgres:15-alpine: %w", err)
	}
	atExit(func() { _ = dockerPool.Purge(res) })
	url := fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", res.GetHostPort("5432/tcp"))
	err = dockerPool.Retry(func() error {
		db, err := sql.Open("pgx", url)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.Ping()
	})
	return url, err
}

func dockerRedis(_ int) (string, error) {
	res, err := dockerPool.RunWithOptions(&dockertest.RunOptions{
		Repository: "redis", Tag: "7-alpine",
		Cmd: []string{"redis-server", "--appendonly", "yes", "--databases", fmt.Sprint(localRedisDatabases)},
	})
	if err != nil {
		return "", fmt.Errorf("docker run redis:7-alpine: %w", err)
	}
	atExit(func() { _ = dockerPool.Purge(res) })
	addr := res.GetHostPort("6379/tcp")
	err = dockerPool.Retry(func() error {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		return c.Ping(context.Background()).Err()
	})
	return "redis://" + addr + "/0", err
}
