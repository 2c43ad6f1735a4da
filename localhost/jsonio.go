package localhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
)

// defaultMaxBody bounds every JSON request body: no legitimate request
// comes near it and it keeps a local process from eating our memory.
const defaultMaxBody = 64 << 10

// APIError is the body of every error response:
// {"error":{"code":"...","message":"...","field":"..."}}.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type errorBody struct {
	Error APIError `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{APIError{Code: "internal", Message: "could not encode the response"}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{APIError{Code: code, Message: msg}})
}

// decodeError is a request body problem with the status to answer.
type decodeError struct {
	status int
	code   string
	msg    string
}

func (e *decodeError) Error() string { return e.msg }

// decodeStrict reads exactly one JSON value into v: the content type must
// be JSON (so a cross-site HTML form can't post here), the body is capped,
// unknown fields are refused (a typo must not silently do nothing) and
// trailing data is refused.
func decodeStrict(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &decodeError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return decodeJSON(r.Body, v)
}

func decodeJSON(body io.Reader, v any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &decodeError{http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
		}
		return &decodeError{http.StatusBadRequest, "bad_json", "the request body could not be read"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return &decodeError{http.StatusBadRequest, "bad_json", "the request body is empty; send a JSON object"}
		case errors.As(err, &ute):
			return &decodeError{http.StatusBadRequest, "bad_json", fmt.Sprintf("field %q must be a %s", ute.Field, ute.Type)}
		case errors.As(err, &se):
			return &decodeError{http.StatusBadRequest, "bad_json", fmt.Sprintf("the body is not valid JSON (at byte %d)", se.Offset)}
		default:
			// Unknown fields and the like: the decoder's text names the field.
			return &decodeError{http.StatusBadRequest, "bad_json", err.Error()}
		}
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return &decodeError{http.StatusBadRequest, "bad_json", "the body must hold a single JSON value"}
	}
	// encoding/json matches field names case-insensitively; a strict API
	// takes only the exact names.
	if field := inexactField(data, v); field != "" {
		return &decodeError{http.StatusBadRequest, "bad_json", fmt.Sprintf("json: unknown field %q", field)}
	}
	return nil
}

// inexactField returns the first top-level key of the JSON object in data
// that is not exactly one of v's JSON field names.
func inexactField(data []byte, v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return ""
	}
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	for k := range obj {
		if !names[k] {
			return k
		}
	}
	return ""
}

func writeDecodeError(w http.ResponseWriter, err error) {
	var de *decodeError
	if errors.As(err, &de) {
		writeError(w, de.status, de.code, de.msg)
		return
	}
	writeError(w, http.StatusBadRequest, "bad_request", err.Error())
}
