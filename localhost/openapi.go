package localhost

import _ "embed"

// openAPISpec documents every endpoint; served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var openAPISpec []byte
