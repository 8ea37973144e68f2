package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/order-worker/internal/notify"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type lockedBuffer = testenv.LogBuffer

// startSMTP runs Python's standard-library SMTP server (smtpd's
// DebuggingServer), which prints every message it receives.
func startSMTP(t *testing.T) (string, *lockedBuffer) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for the SMTP test server (apt-get install -y python3)")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	out := &lockedBuffer{}
	cmd := exec.Command(py, "-u", "-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer", addr)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, out
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP test server did not start: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSMTPNotifierMailsTheCustomer(t *testing.T) {
	ctx := context.Background()
	db, err := pgxpool.New(ctx, schematest.MigratedDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var uid int64
	if err := db.QueryRow(ctx, `INSERT INTO users (email, password_hash, role) VALUES ('mia@example.com', 'x', 'customer') RETURNING id`).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	addr, received := startSMTP(t)
	n := notify.SMTP{Addr: addr, From: "shop@example.com", DB: db}
	id := uuid.New()
	if err := n.Notify(ctx, orderstream.StatusEvent{OrderID: id, UserID: uid, Status: "failed", Reason: "insufficient_stock"}); err != nil {
		t.Fatalf("notify: %v\nserver: %s", err, received.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(received.String(), id.String()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := received.String()
	for _, want := range []string{"To: mia@example.com", "Subject: We could not take your order", id.String(), "an item sold out"} {
		if !strings.Contains(got, want) {
			t.Fatalf("mail lacks %q:\n%s", want, got)
		}
	}
	// An unknown user is an error, not a silent success.
	if err := n.Notify(ctx, orderstream.StatusEvent{OrderID: id, UserID: 999999, Status: "confirmed"}); err == nil {
		t.Fatal("notify of an unknown user succeeded")
	}
}

func TestLogNotifier(t *testing.T) {
	var b lockedBuffer
	l := notify.Log{Log: slog.New(slog.NewJSONHandler(&b, nil))}
	id := uuid.New()
	if err := l.Notify(context.Background(), orderstream.StatusEvent{OrderID: id, UserID: 3, Status: "confirmed"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"order_id":"`+id.String()+`"`) || !strings.Contains(b.String(), `"status":"confirmed"`) {
		t.Fatalf("log line %s", b.String())
	}
}
