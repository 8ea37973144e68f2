// Package notify tells customers about decided orders, besides the live
// status the api pushes: a logging notifier (the default, useful in
// development) and an SMTP notifier that mails the customer.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/smtp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Log writes one structured line per decided order.
type Log struct{ Log *slog.Logger }

// Notify implements the consumer's Notifier.
func (l Log) Notify(ctx context.Context, ev orderstream.StatusEvent) error {
	l.Log.InfoContext(ctx, "order decided", "order_id", ev.OrderID.String(), "user_id", ev.UserID,
		"status", ev.Status, "reason", ev.Reason)
	return nil
}

// SMTP mails the customer through a relay.
type SMTP struct {
	Addr     string // host:port
	From     string
	Username string
	Password string
	DB       *pgxpool.Pool // to look up the customer's address
	Timeout  time.Duration
}

// Notify implements the consumer's Notifier.
func (s SMTP) Notify(ctx context.Context, ev orderstream.StatusEvent) error {
	var to string
	if err := s.DB.QueryRow(ctx, "SELECT email FROM users WHERE id = $1 AND deleted_at IS NULL", ev.UserID).Scan(&to); err != nil {
		return fmt.Errorf("look up email of user %d: %w", ev.UserID, err)
	}
	if strings.ContainsAny(to, "\r\n") || strings.ContainsAny(s.From, "\r\n") {
		return errors.New("refusing an address with a line break")
	}
	var auth smtp.Auth
	if s.Username != "" {
		host, _, _ := strings.Cut(s.Addr, ":")
		auth = smtp.PlainAuth("", s.Username, s.Password, host)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(s.Addr, auth, s.From, []string{to}, message(s.From, to, ev)) }()
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("send mail to user %d: %w", ev.UserID, err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("send mail to user %d: timed out after %s", ev.UserID, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func message(from, to string, ev orderstream.StatusEvent) []byte {
	subject := "Your order is confirmed"
	body := fmt.Sprintf("Good news: order %s is confirmed and on its way to being packed.\r\n", ev.OrderID)
	if ev.Status == orderstream.StatusFailed {
		subject = "We could not take your order"
		body = fmt.Sprintf("Sorry, order %s could not be completed (%s).\r\nYou have not been charged.\r\n", ev.OrderID, humanReason(ev.Reason))
	}
	return []byte("From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nDate: " +
		time.Now().UTC().Format(time.RFC1123Z) + "\r\n\r\n" + body)
}

func humanReason(reason string) string {
	switch reason {
	case orderstream.ReasonInsufficientStock:
		return "an item sold out"
	case orderstream.ReasonUnknownProduct, orderstream.ReasonInactiveProduct:
		return "an item is no longer sold"
	default:
		return "a processing error"
	}
}
