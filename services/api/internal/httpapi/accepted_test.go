package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestAcceptedViewJSON: the intake's answer, written without reflection, is
// byte for byte what encoding/json writes for the view.
func TestAcceptedViewJSON(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 5, 11, 0, 0, 123456789, time.UTC),
		time.Date(2026, 12, 5, 11, 0, 0, 120000000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600)),
	} {
		for _, id := range []uuid.UUID{uuid.New(), uuid.Nil, uuid.Must(uuid.Parse("ffffffff-ffff-4fff-bfff-ffffffffffff"))} {
			v := acceptedView{ID: id, Status: "pending", AcceptedAt: at}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(v); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			if err := writeJSON(rec, 202, v); err != nil {
				t.Fatal(err)
			}
			if rec.Body.String() != want.String() {
				t.Errorf("writeJSON wrote %s, encoding/json %s", rec.Body, want.String())
			}
			if got := string(appendUUID(nil, id)); got != id.String() {
				t.Errorf("appendUUID = %s, want %s", got, id)
			}
		}
	}
}
