package problem

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeJSON reads the request body into dst strictly: the content type must
// be JSON, the body must fit the limit, be valid UTF-8 and hold exactly one
// JSON value whose fields all exist in dst with the right types. Anything else
// returns a 4xx Problem that names the offending field where one is known.
func DecodeJSON(r *http.Request, maxBytes int64, dst any) *Problem {
	if p := checkContentType(r); p != nil {
		return p
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return BadRequest("the request body could not be read: " + err.Error())
	}
	if int64(len(body)) > maxBytes {
		return tooLarge(maxBytes)
	}
	return DecodeBytes(body, dst)
}

// DecodeBytes is DecodeJSON's checks on an already-read body.
func DecodeBytes(body []byte, dst any) *Problem {
	if len(bytes.TrimSpace(body)) == 0 {
		return BadRequest("the request body is empty; send a JSON object", FieldError{Pointer: "#", Detail: "required"})
	}
	if !utf8.Valid(body) {
		return BadRequest("the request body is not valid UTF-8", FieldError{Pointer: "#", Detail: "invalid UTF-8"})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, body, dst)
	}
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 { // JSON whitespace only
		return BadRequest("the request body holds more than one JSON value", FieldError{Pointer: "#", Detail: "trailing data after the JSON value"})
	}
	if ptr, dup := DuplicateName(body); dup {
		return BadRequest("a name appears twice in one JSON object; send each field once",
			FieldError{Pointer: ptr, Detail: "duplicate name (compared case-insensitively, as field names are)"})
	}
	return nil
}

func checkContentType(r *http.Request) *Problem {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return New(http.StatusUnsupportedMediaType, "unsupported-media-type", "send the body as application/json (Content-Type header missing)")
	}
	if ct == "application/json" { // what nearly every client sends: no parse (which allocates)
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return New(http.StatusUnsupportedMediaType, "unsupported-media-type", "send the body as application/json, not "+ct)
	}
	return nil
}

func tooLarge(limit int64) *Problem {
	return New(http.StatusRequestEntityTooLarge, "body-too-large", fmt.Sprintf("the request body exceeds the limit of %d bytes", limit))
}

func decodeError(err error, body []byte, dst any) *Problem {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return BadRequest(fmt.Sprintf("the request body is not valid JSON (at byte %d): %v", syntaxErr.Offset, syntaxErr),
			FieldError{Pointer: "#", Detail: "malformed JSON"})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("the request body ends in the middle of a JSON value", FieldError{Pointer: "#", Detail: "truncated JSON"})
	case errors.As(err, &typeErr):
		return BadRequest("a field has the wrong type",
			FieldError{Pointer: typeErrorPointer(body, typeErr), Detail: fmt.Sprintf("must be %s, got JSON %s", describeType(typeErr), typeErr.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		quoted := strings.TrimPrefix(err.Error(), "json: unknown field ")
		name, uerr := strconv.Unquote(quoted) // encoding/json formats the key with %q
		if uerr != nil {
			name = strings.Trim(quoted, `"`)
		}
		return BadRequest("the request body has a field this endpoint does not accept",
			FieldError{Pointer: unknownFieldPointer(body, dst, name), Detail: "unknown field"})
	default:
		return BadRequest("the request body could not be decoded: "+err.Error(), FieldError{Pointer: "#", Detail: "undecodable"})
	}
}

func describeType(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind().String() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		if e.Value == "number" || strings.HasPrefix(e.Value, "number ") {
			return "an integer within range"
		}
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	default:
		return e.Type.String()
	}
}
