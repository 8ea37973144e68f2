package config

import "strings"

// FieldError is one invalid configuration value, named by its path.
type FieldError struct {
	Field   string
	Message string
}

// FieldErrors collects every problem found while validating a document, so
// an operator sees all of them at once.
type FieldErrors []FieldError

// Add records a problem with the field at path.
func (e *FieldErrors) Add(path, message string) { *e = append(*e, FieldError{path, message}) }

// Check records message for path when ok is false.
func (e *FieldErrors) Check(ok bool, path, message string) {
	if !ok {
		e.Add(path, message)
	}
}

func (e FieldErrors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Field + ": " + fe.Message
	}
	return strings.Join(parts, "; ")
}
