module muxrpc

go 1.19

require golang.ngrok.com/muxado/v2 v2.0.0

// No module proxy is reached here, so the library comes from a local copy:
// build.sh exports ngrok/muxado-go from the git repository in MUXADO_GO_REPO
// into ./muxado of its build folder and builds there. With a module proxy,
// delete this line and run `go mod tidy` to fetch the published module.
replace golang.ngrok.com/muxado/v2 => ./muxado
