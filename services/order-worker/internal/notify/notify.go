// Package notify tells customers what happened to their orders, besides the
// live status the api pushes: a relay that reads every order's timeline,
// a logging notifier (the default, useful in development) and an SMTP
// notifier that mails the customer.
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Log writes one structured line per event.
type Log struct{ Log *slog.Logger }

// Notify implements the consumer's Notifier.
func (l Log) Notify(ctx context.Context, ev orderstream.StatusEvent) error {
	l.Log.InfoContext(ctx, "customer notified", "order_id", ev.OrderID.String(), "user_id", ev.UserID,
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
	if err := s.send(ctx, to, message(s.From, to, ev)); err != nil {
		return fmt.Errorf("send mail to user %d: %w", ev.UserID, err)
	}
	return nil
}

// send delivers one message, the whole SMTP conversation bounded by the
// timeout and by ctx (a hung relay leaves nothing behind).
func (s SMTP) send(ctx context.Context, to string, msg []byte) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) }) // cancelled early
	defer stop()
	host, _, _ := strings.Cut(s.Addr, ":")
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return err
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.From); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func message(from, to string, ev orderstream.StatusEvent) []byte {
	subject, body := wording(ev)
	return []byte("From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nDate: " +
		time.Now().UTC().Format(time.RFC1123Z) + "\r\n\r\n" + body)
}

// wording is the subject and body of the mail about ev (a timeline event type in ev.Status).
func wording(ev orderstream.StatusEvent) (subject, body string) {
	id := ev.OrderID.String()
	switch ev.Status {
	case lifecycle.Failed:
		return "We could not take your order", "Sorry, order " + id + " could not be completed (" + humanReason(ev.Reason) + ").\r\nYou have not been charged.\r\n"
	case lifecycle.Paid:
		return "Payment received", "Thank you: we received the payment for order " + id + ". We will tell you when it ships.\r\n"
	case lifecycle.Shipped:
		return "Your order has shipped", "Order " + id + " is on its way.\r\n"
	case lifecycle.Cancelled:
		return "Your order is cancelled", "Order " + id + " is cancelled. If you paid, the money is refunded.\r\n"
	case lifecycle.Expired:
		return "Your order expired", "Order " + id + " was not paid in time and has expired; the items are back on sale.\r\n"
	case lifecycle.Refunded:
		return "Your refund is on its way", "We refunded the payment for order " + id + ".\r\n"
	default:
		return "Your order is confirmed", "Good news: order " + id + " is confirmed. Please pay it to have it packed.\r\n"
	}
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
