// A WinRM client we did not write (github.com/masterzen/winrm), used to check
// the server half of wsman. Built into the test bed cache by the conformance
// test; go.sum is generated there, so nothing here pins hashes by hand.
module scvmm-capi.local/conformance/go-winrm

go 1.26.0

require github.com/masterzen/winrm v0.0.0-20211231115050-232efb40349e
