// Package js serves the built browser SDK, dist/jeton.js, to Go programs
// (the demo merchant serves it to its page), so no copy of the file has to
// be kept in step with the build.
package js

import _ "embed"

// JetonJS is dist/jeton.js: one ES module a page can import as is.
//
//go:embed dist/jeton.js
var JetonJS []byte
